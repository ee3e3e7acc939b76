//! Secrets (passwords, client secrets, tokens, keys) whose `Debug` and `Display` never show them.
//!
//! Shared by every protocol: CTI `client_password`, GC passwords and passcodes, ECE client
//! secrets and tokens. Re-exported as `cce::ece::Secret` for compatibility.

use std::fmt;

/// A secret string. Formatting it prints `<redacted>`; read it with [`Secret::expose`].
/// Deserializes from a plain JSON string; a value of another type is refused with an
/// error that names the expected type but never echoes the value.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // deserialize_any: a typed request (deserialize_str) makes some formats build
        // their own "invalid type" error, with the value in it.
        d.deserialize_any(SecretVisitor)
    }
}

/// Deserializes a [`Secret`] for the configuration key `field`: a value that is not a
/// string is refused with an error naming the field, never showing the value. For
/// `#[serde(deserialize_with = ...)]` helpers.
pub fn deserialize_named<'de, D: serde::Deserializer<'de>>(
    field: &'static str,
    d: D,
) -> Result<Secret, D::Error> {
    <Secret as serde::Deserialize>::deserialize(d).map_err(|_| {
        serde::de::Error::custom(format!("{field} must be a string (value not shown)"))
    })
}

/// Accepts a string; every other type is an error without the value in it.
struct SecretVisitor;

impl SecretVisitor {
    fn refuse<E: serde::de::Error>(kind: &str) -> E {
        E::custom(format!(
            "invalid type: {kind} (value not shown), expected a string"
        ))
    }
}

impl serde::de::Visitor<'_> for SecretVisitor {
    type Value = Secret;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Secret, E> {
        Ok(Secret(v.to_owned()))
    }
    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Secret, E> {
        Ok(Secret(v))
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Secret, E> {
        Err(Self::refuse("boolean"))
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Secret, E> {
        Err(Self::refuse("integer"))
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Secret, E> {
        Err(Self::refuse("integer"))
    }
    fn visit_i128<E: serde::de::Error>(self, _: i128) -> Result<Secret, E> {
        Err(Self::refuse("integer"))
    }
    fn visit_u128<E: serde::de::Error>(self, _: u128) -> Result<Secret, E> {
        Err(Self::refuse("integer"))
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Secret, E> {
        Err(Self::refuse("number"))
    }
    fn visit_char<E: serde::de::Error>(self, v: char) -> Result<Secret, E> {
        Ok(Secret(v.to_string()))
    }
    fn visit_bytes<E: serde::de::Error>(self, _: &[u8]) -> Result<Secret, E> {
        Err(Self::refuse("bytes"))
    }
}

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret value, for building a request header.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_owned())
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrongly_typed_secret_is_refused_without_its_value() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Cfg {
            password: Secret,
        }
        for bad in [
            r#"{"password":987654321}"#,
            r#"{"password":-987654321}"#,
            r#"{"password":98765.4321}"#,
            r#"{"password":true}"#,
        ] {
            let e = serde_json::from_str::<Cfg>(bad).expect_err(bad).to_string();
            assert!(!e.contains("98765") && !e.contains("true"), "{e}");
            assert!(e.contains("expected a string"), "{e}");
        }
        let ok: Cfg = serde_json::from_str(r#"{"password":"hunter2"}"#).expect("string");
        assert_eq!(ok.password.expose(), "hunter2");
        assert_eq!(format!("{ok:?}"), "Cfg { password: <redacted> }");
    }

    #[test]
    fn formatting_never_shows_the_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?} {s}"), "<redacted> <redacted>");
        assert_eq!(s.expose(), "hunter2");
    }
}
