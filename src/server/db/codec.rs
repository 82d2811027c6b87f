//! How domain types cross the database edge. Each is stored as text and
//! read back into its type; a value this console never writes is a decode
//! error, not a silent default.

use crate::domain::Role;
use crate::domain::guest::GuestState;
use crate::domain::mail::{MailKind, MailStatus, Recipients};
use sqlx::any::{AnyTypeInfo, AnyTypeInfoKind};
use sqlx::error::BoxDynError;
use sqlx::{Any, Database, Decode, Encode, Type, ValueRef};

type ArgumentBuffer<'q> = <Any as Database>::ArgumentBuffer<'q>;
type AnyValueRef<'r> = <Any as Database>::ValueRef<'r>;

/// A flag column: BOOLEAN on PostgreSQL, INTEGER 0 or 1 on SQLite (which
/// has no boolean type). Read a `bool` field through it with
/// `#[sqlx(try_from = "Flag")]`; bind a `bool` as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flag(pub bool);

impl From<Flag> for bool {
    fn from(flag: Flag) -> bool {
        flag.0
    }
}

impl Type<Any> for Flag {
    fn type_info() -> AnyTypeInfo {
        <bool as Type<Any>>::type_info()
    }

    fn compatible(ty: &AnyTypeInfo) -> bool {
        ty.kind() == AnyTypeInfoKind::Bool || ty.kind().is_integer()
    }
}

impl<'r> Decode<'r, Any> for Flag {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        if value.type_info().kind().is_integer() {
            <i64 as Decode<'r, Any>>::decode(value).map(|n| Flag(n != 0))
        } else {
            <bool as Decode<'r, Any>>::decode(value).map(Flag)
        }
    }
}

/// A type stored as one text column: its stored form and how to read it.
trait StoredAsText: Sized {
    /// What the column holds, for the decode error.
    const WHAT: &'static str;
    fn to_text(&self) -> String;
    fn from_text(text: &str) -> Option<Self>;
}

macro_rules! text_column {
    ($type:ty) => {
        impl Type<Any> for $type {
            fn type_info() -> AnyTypeInfo {
                <str as Type<Any>>::type_info()
            }

            fn compatible(ty: &AnyTypeInfo) -> bool {
                <str as Type<Any>>::compatible(ty)
            }
        }

        impl<'q> Encode<'q, Any> for $type {
            fn encode_by_ref(
                &self,
                args: &mut ArgumentBuffer<'q>,
            ) -> Result<sqlx::encode::IsNull, BoxDynError> {
                <String as Encode<'q, Any>>::encode(self.to_text(), args)
            }
        }

        impl<'r> Decode<'r, Any> for $type {
            fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
                let text = <&str as Decode<'r, Any>>::decode(value)?;
                <$type as StoredAsText>::from_text(text).ok_or_else(|| {
                    format!("{} {text:?} is not one this console writes", <$type>::WHAT).into()
                })
            }
        }

        impl<'de> serde::Deserialize<'de> for Stored<$type> {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                <$type as StoredAsText>::from_text(&text)
                    .map(Stored)
                    .ok_or_else(|| {
                        serde::de::Error::custom(format!(
                            "{} {text:?} is not one this console writes",
                            <$type>::WHAT
                        ))
                    })
            }
        }
    };
}

/// A column's value read from a JSON text of rows (`super::json_rows`) in
/// its stored form, as `Decode` reads it from a row.
#[derive(Debug, Clone)]
pub struct Stored<T>(pub T);

impl StoredAsText for MailKind {
    const WHAT: &'static str = "mail kind";
    fn to_text(&self) -> String {
        self.as_str().into()
    }
    fn from_text(text: &str) -> Option<Self> {
        MailKind::parse(text)
    }
}

impl StoredAsText for MailStatus {
    const WHAT: &'static str = "mail status";
    fn to_text(&self) -> String {
        self.as_str().into()
    }
    fn from_text(text: &str) -> Option<Self> {
        MailStatus::parse(text)
    }
}

impl StoredAsText for Role {
    const WHAT: &'static str = "admin role";
    fn to_text(&self) -> String {
        self.as_str().into()
    }
    fn from_text(text: &str) -> Option<Self> {
        Role::parse(text)
    }
}

impl StoredAsText for GuestState {
    const WHAT: &'static str = "guest account state";
    fn to_text(&self) -> String {
        self.as_str().into()
    }
    fn from_text(text: &str) -> Option<Self> {
        GuestState::parse(text)
    }
}

/// Comma-separated addresses (an address holds no comma).
impl StoredAsText for Recipients {
    const WHAT: &'static str = "recipient list";
    fn to_text(&self) -> String {
        self.as_slice().join(",")
    }
    fn from_text(text: &str) -> Option<Self> {
        let addresses: Vec<String> = text
            .split(',')
            .map(str::trim)
            .filter(|address| !address.is_empty())
            .map(str::to_string)
            .collect();
        (!addresses.is_empty()).then(|| Recipients::new(addresses))
    }
}

text_column!(MailKind);
text_column!(MailStatus);
text_column!(Role);
text_column!(GuestState);
text_column!(Recipients);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_text_round_trips_and_unknown_values_are_refused() {
        for kind in MailKind::ALL {
            assert_eq!(MailKind::from_text(&kind.to_text()), Some(kind));
        }
        for role in Role::ALL {
            assert_eq!(Role::from_text(&role.to_text()), Some(role));
        }
        assert_eq!(MailKind::from_text("fax"), None);
        let recipients = Recipients::from_text("a@example.com, b@example.com").unwrap();
        assert_eq!(recipients.as_slice(), ["a@example.com", "b@example.com"]);
        assert_eq!(recipients.to_text(), "a@example.com,b@example.com");
        assert!(Recipients::from_text(" , ").is_none());
        let from_json: Vec<Stored<MailKind>> =
            serde_json::from_str(r#"["guest-credentials"]"#).unwrap();
        assert_eq!(from_json[0].0, MailKind::GuestCredentials);
        assert!(serde_json::from_str::<Stored<MailKind>>(r#""fax""#).is_err());
    }

    #[tokio::test]
    async fn columns_decode_into_their_types_or_fail() {
        sqlx::any::install_default_drivers();
        let db = sqlx::AnyPool::connect("sqlite::memory:").await.unwrap();
        let (kind, recipients): (MailKind, Recipients) = sqlx::query_as("SELECT $1, $2")
            .bind(MailKind::Alarm)
            .bind(Recipients::new(vec![
                "a@example.com".into(),
                "b@example.com".into(),
            ]))
            .fetch_one(&db)
            .await
            .unwrap();
        assert_eq!(kind, MailKind::Alarm);
        assert_eq!(recipients.len(), 2);
        let unknown: sqlx::Result<(MailKind,)> =
            sqlx::query_as("SELECT 'fax'").fetch_one(&db).await;
        assert!(unknown.is_err());
        // SQLite's flags are integers; a bound bool is stored as one.
        let (on, off): (Flag, Flag) = sqlx::query_as("SELECT $1, 0")
            .bind(true)
            .fetch_one(&db)
            .await
            .unwrap();
        assert_eq!((bool::from(on), bool::from(off)), (true, false));
    }
}
