//! The Subject header as the console writes it. lettre writes ASCII words
//! as they are, so a value that is itself an encoded-word (`=?utf-8?b?…?=`,
//! say a guest's "first name") would be decoded by the reader's mail
//! program, into any text, line breaks included. Such a subject is written
//! as encoded-words from end to end, so it reads back as the literal text.

use base64::Engine;
use lettre::message::header::{Header, HeaderName, HeaderValue};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlainSubject(String);

impl PlainSubject {
    /// The subject on one line (a line break would end the header).
    pub fn new(subject: &str) -> PlainSubject {
        PlainSubject(subject.replace(['\r', '\n'], " "))
    }
}

impl Header for PlainSubject {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Subject")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(PlainSubject::new(s))
    }

    fn display(&self) -> HeaderValue {
        if !self.0.contains("=?") {
            return HeaderValue::new(Self::name(), self.0.clone());
        }
        HeaderValue::dangerous_new_pre_encoded(Self::name(), self.0.clone(), encode_words(&self.0))
    }
}

/// `text` as RFC 2047 base64 encoded-words of at most 75 characters, each
/// on its own folded line, never splitting a character.
pub fn encode_words(text: &str) -> String {
    // "=?utf-8?b?" + 60 base64 characters (45 bytes) + "?=" = 72.
    const BYTES_PER_WORD: usize = 45;
    let mut words = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let mut end = (start + BYTES_PER_WORD).min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let chunk = &text[start..end];
        words.push(format!(
            "=?utf-8?b?{}?=",
            base64::engine::general_purpose::STANDARD.encode(chunk)
        ));
        start = end;
    }
    words.join("\r\n ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_encoded_word_in_a_subject_stays_literal_text() {
        let hostile = "Welcome =?utf-8?b?QW5uDQpCY2M6IHZpY3RpbUBldmlsLmV4YW1wbGU=?=";
        let value = PlainSubject::new(hostile).display();
        let message = lettre::Message::builder()
            .from("a@example.com".parse().unwrap())
            .to("b@example.com".parse().unwrap())
            .header(PlainSubject::new(hostile))
            .body(String::from("x"))
            .unwrap();
        let raw = String::from_utf8(message.formatted()).unwrap();
        assert!(!raw.contains(hostile), "written verbatim: {raw}");
        let header = raw.split("Subject: ").nth(1).unwrap();
        let mut decoded = Vec::new();
        for line in header.split("\r\n") {
            let Some(word) = line.trim().strip_prefix("=?utf-8?b?") else {
                break;
            };
            let b64 = word.trim_end_matches("?=");
            decoded.extend(
                base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .unwrap(),
            );
        }
        assert_eq!(String::from_utf8(decoded).unwrap(), hostile);
        assert_eq!(value, PlainSubject::new(hostile).display());
        let plain = lettre::Message::builder()
            .from("a@example.com".parse().unwrap())
            .to("b@example.com".parse().unwrap())
            .header(PlainSubject::new(
                "Your guest account\r\nBcc: x@evil.example",
            ))
            .body(String::from("x"))
            .unwrap();
        let raw = String::from_utf8(plain.formatted()).unwrap();
        assert!(
            raw.contains("Subject: Your guest account  Bcc: x@evil.example\r\n"),
            "{raw}"
        );
    }

    #[test]
    fn words_never_split_a_character() {
        let text = "=?".to_string() + &"é".repeat(100);
        for word in encode_words(&text).split("\r\n ") {
            assert!(word.len() <= 75, "{word}");
            let b64 = word.trim_start_matches("=?utf-8?b?").trim_end_matches("?=");
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap();
            assert!(String::from_utf8(bytes).is_ok(), "{word}");
        }
    }
}
