# Sourced by the other scripts: where the tools live.
export PATH="$HOME/.cargo/bin:$PWD/end2end/node_modules/.bin:$PATH"
