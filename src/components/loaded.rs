//! Page data loaded through a server function and handed from the server's
//! render to the browser.

use leptos::prelude::*;
use leptos::server::codee::{Decoder, Encoder};
use serde::{Serialize, de::DeserializeOwned};
use std::future::Future;

/// JSON, as `Resource::new` writes it into the page, but read back as bytes.
///
/// A server function's answer is read with `serde_json::from_slice` and a
/// resource's hydration data with `serde_json::from_str`; serde_json's
/// deserializer is generic over its reader, so each type loaded both ways
/// had its whole parser compiled into the wasm twice. Reading both from
/// bytes keeps one copy per type.
pub struct JsonBytes;

impl<T: Serialize> Encoder<T> for JsonBytes {
    type Error = serde_json::Error;
    type Encoded = String;

    fn encode(value: &T) -> Result<String, serde_json::Error> {
        serde_json::to_string(value)
    }
}

impl<T: DeserializeOwned> Decoder<T> for JsonBytes {
    type Error = serde_json::Error;
    type Encoded = str;

    fn decode(encoded: &str) -> Result<T, serde_json::Error> {
        serde_json::from_slice(encoded.as_bytes())
    }
}

/// A page's data, loaded on the server and hydrated in the browser.
pub type Loaded<T> = Resource<T, JsonBytes>;

/// `Resource::new`, with [`JsonBytes`].
#[track_caller]
pub fn load<T, S, Fut>(
    source: impl Fn() -> S + Send + Sync + 'static,
    fetcher: impl Fn(S) -> Fut + Send + Sync + 'static,
) -> Loaded<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
    S: PartialEq + Clone + Send + Sync + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    Resource::new_with_options(source, fetcher, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_comes_back_as_it_went_out() {
        let value: Result<Vec<(String, Option<i64>)>, String> = Ok(vec![
            ("Usuário «ñ» \"quoted\"\n".to_string(), Some(-7)),
            ("".to_string(), None),
        ]);
        let encoded = <JsonBytes as Encoder<_>>::encode(&value).unwrap();
        let decoded: Result<Vec<(String, Option<i64>)>, String> =
            <JsonBytes as Decoder<_>>::decode(&encoded).unwrap();
        assert_eq!(decoded, value);
        assert!(<JsonBytes as Decoder<Vec<i64>>>::decode("[1,").is_err());
    }
}
