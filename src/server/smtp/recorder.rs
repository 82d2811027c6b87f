//! A stream wrapper that writes the SMTP dialogue into the transcript as it
//! passes, masking AUTH arguments, and that hands lettre the greeting the
//! console has already read (lettre expects one when it takes over a stream).

use crate::domain::transcript::{Direction, TranscriptLine, redact_smtp_command};
use lettre::transport::smtp::client::AsyncTokioStream;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The transcript shared by everything one Test Connection runs.
#[derive(Clone, Default)]
pub struct Transcript {
    inner: Arc<Mutex<TranscriptState>>,
}

#[derive(Default)]
struct TranscriptState {
    lines: Vec<TranscriptLine>,
    /// Inside an AUTH exchange: client continuation lines carry credentials.
    in_auth: bool,
    sent_partial: Vec<u8>,
    received_partial: Vec<u8>,
}

/// Bounds the transcript: a misbehaving server must not fill memory.
const MAX_LINES: usize = 500;

impl Transcript {
    fn state(&self) -> std::sync::MutexGuard<'_, TranscriptState> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a line; sent lines are redacted here, so no caller can forget.
    pub fn push(&self, direction: Direction, text: String) {
        let mut state = self.state();
        state.add(direction, text);
    }

    pub fn extend(&self, lines: Vec<TranscriptLine>) {
        let mut state = self.state();
        for line in lines {
            if state.lines.len() < MAX_LINES {
                state.lines.push(line);
            }
        }
    }

    pub fn lines(&self) -> Vec<TranscriptLine> {
        self.state().lines.clone()
    }

    fn sent_bytes(&self, bytes: &[u8]) {
        let mut state = self.state();
        state.sent_partial.extend_from_slice(bytes);
        while let Some(line) = take_line(&mut state.sent_partial) {
            state.add(Direction::Sent, line);
        }
    }

    fn received_bytes(&self, bytes: &[u8]) {
        let mut state = self.state();
        state.received_partial.extend_from_slice(bytes);
        while let Some(line) = take_line(&mut state.received_partial) {
            state.add(Direction::Received, line);
        }
    }
}

impl TranscriptState {
    fn add(&mut self, direction: Direction, text: String) {
        let text = match direction {
            Direction::Sent => {
                let redacted = redact_smtp_command(&text, self.in_auth);
                if text
                    .get(..5)
                    .is_some_and(|verb| verb.eq_ignore_ascii_case("AUTH "))
                {
                    self.in_auth = true;
                }
                redacted
            }
            Direction::Received => {
                if !text.starts_with("334") {
                    self.in_auth = false;
                }
                text
            }
            Direction::Note => text,
        };
        if self.lines.len() < MAX_LINES {
            self.lines.push(TranscriptLine { direction, text });
        }
    }
}

fn take_line(buffer: &mut Vec<u8>) -> Option<String> {
    let end = buffer.iter().position(|&b| b == b'\n')?;
    let line: Vec<u8> = buffer.drain(..=end).collect();
    Some(String::from_utf8_lossy(&line).trim_end().to_string())
}

pub struct Recorder<S> {
    inner: S,
    peer: SocketAddr,
    transcript: Transcript,
    greeting: &'static [u8],
}

impl<S> Recorder<S> {
    pub fn new(inner: S, peer: SocketAddr, transcript: Transcript) -> Self {
        Recorder {
            inner,
            peer,
            transcript,
            greeting: b"220 greeting already read\r\n",
        }
    }
}

impl<S> fmt::Debug for Recorder<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recorder")
            .field("peer", &self.peer)
            .finish()
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Recorder<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.greeting.is_empty() {
            let n = self.greeting.len().min(buf.remaining());
            buf.put_slice(&self.greeting[..n]);
            self.greeting = &self.greeting[n..];
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        let this = &mut *self;
        let result = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = result {
            this.transcript.received_bytes(&buf.filled()[before..]);
        }
        result
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Recorder<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let result = Pin::new(&mut this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = result {
            this.transcript.sent_bytes(&buf[..n]);
        }
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Send + Sync + Unpin> AsyncTokioStream for Recorder<S> {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.peer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_lines_and_their_continuations_are_masked() {
        let t = Transcript::default();
        t.sent_bytes(b"EHLO node\r\nAUTH XOAUTH2 dXNlcj1h");
        t.sent_bytes(b"QWxhZGRpbg==\r\n");
        t.received_bytes(b"334 eyJzdGF0dXMiOiI0MDEifQ==\r\n");
        t.sent_bytes(b"\r\n");
        t.received_bytes(b"535 5.7.3 Authentication unsuccessful\r\n");
        t.sent_bytes(b"QUIT\r\n");
        let text: Vec<String> = t.lines().into_iter().map(|l| l.text).collect();
        assert_eq!(
            text,
            [
                "EHLO node",
                "AUTH XOAUTH2 ********",
                "334 eyJzdGF0dXMiOiI0MDEifQ==",
                "********",
                "535 5.7.3 Authentication unsuccessful",
                "QUIT"
            ]
        );
    }
}
