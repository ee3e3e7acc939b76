//! Access-token cache: when to log in again (sans-IO; the caller passes the time).

use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::secret::Secret;

/// Lifetime assumed when the token answer has no `expires_in` (the data sheet's 24 h).
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(86_400);

/// A token as granted by the login call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenGrant {
    /// The bearer token.
    pub access_token: Secret,
    /// Lifetime from `expires_in`.
    pub lifetime: Duration,
    /// `token_type` (normally `Bearer`).
    pub token_type: String,
}

#[derive(Deserialize)]
struct TokenJson {
    access_token: String,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
    #[serde(default)]
    token_type: Option<String>,
}

/// Parses the login answer `{"access_token":..,"expires_in":86400,"token_type":"Bearer"}`.
/// `expires_in` may be a number or a numeric string; absent means 24 h.
pub fn parse_token(body: &[u8]) -> Result<TokenGrant, String> {
    let j: TokenJson = serde_json::from_slice(body).map_err(|e| format!("token JSON: {e}"))?;
    if j.access_token.is_empty() {
        return Err("empty access_token".into());
    }
    let lifetime = match j.expires_in {
        None | Some(serde_json::Value::Null) => DEFAULT_LIFETIME,
        Some(serde_json::Value::Number(n)) => {
            Duration::from_secs(n.as_u64().ok_or("expires_in is not a whole number")?)
        }
        Some(serde_json::Value::String(s)) => Duration::from_secs(
            s.trim()
                .parse()
                .map_err(|_| format!("expires_in {s:?} is not a number"))?,
        ),
        Some(other) => return Err(format!("expires_in has type {other}")),
    };
    if let Some(t) = &j.token_type {
        if !t.eq_ignore_ascii_case("bearer") {
            return Err(format!("token_type {t:?} is not Bearer"));
        }
    }
    Ok(TokenGrant {
        access_token: Secret::new(j.access_token),
        lifetime,
        token_type: j.token_type.unwrap_or_else(|| "Bearer".into()),
    })
}

#[derive(Debug, Clone)]
struct Cached {
    token: Secret,
    refresh_at: Instant,
}

/// One cached token per client key. A token is used until `refresh_ratio` of its
/// lifetime has passed (90 % by default), then a new login is made; a 401 answer
/// invalidates it at once.
#[derive(Debug, Clone)]
pub struct TokenCache {
    refresh_ratio: f64,
    cached: Option<Cached>,
}

impl TokenCache {
    /// A cache refreshing at `refresh_ratio` (clamped to 0..=1) of each lifetime.
    pub fn new(refresh_ratio: f64) -> Self {
        let r = if refresh_ratio.is_finite() {
            refresh_ratio.clamp(0.0, 1.0)
        } else {
            0.9
        };
        TokenCache {
            refresh_ratio: r,
            cached: None,
        }
    }

    /// The token to use at `now`, or `None` when a login is needed.
    pub fn current(&self, now: Instant) -> Option<&Secret> {
        self.cached
            .as_ref()
            .filter(|c| now < c.refresh_at)
            .map(|c| &c.token)
    }

    /// Stores a fresh grant obtained at `now`; returns the token to use.
    pub fn store(&mut self, grant: TokenGrant, now: Instant) -> Secret {
        let keep = grant.lifetime.mul_f64(self.refresh_ratio);
        let token = grant.access_token;
        self.cached = Some(Cached {
            token: token.clone(),
            refresh_at: now + keep,
        });
        token
    }

    /// Forgets `token` after a 401, unless another caller already replaced it.
    pub fn invalidate(&mut self, token: &Secret) {
        if self.cached.as_ref().is_some_and(|c| &c.token == token) {
            self.cached = None;
        }
    }

    /// Forgets any token.
    pub fn clear(&mut self) {
        self.cached = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(tok: &str, secs: u64) -> TokenGrant {
        TokenGrant {
            access_token: Secret::new(tok),
            lifetime: Duration::from_secs(secs),
            token_type: "Bearer".into(),
        }
    }

    #[test]
    fn parses_the_documented_answer() {
        let g = parse_token(
            br#"{"access_token":"8d1c2f9e-uuid","expires_in":86400,"token_type":"Bearer"}"#,
        )
        .unwrap();
        assert_eq!(g.access_token.expose(), "8d1c2f9e-uuid");
        assert_eq!(g.lifetime, Duration::from_secs(86400));
        let g = parse_token(br#"{"access_token":"t","expires_in":"60"}"#).unwrap();
        assert_eq!(g.lifetime, Duration::from_secs(60));
        assert_eq!(
            parse_token(br#"{"access_token":"t"}"#).unwrap().lifetime,
            DEFAULT_LIFETIME
        );
        assert!(parse_token(br#"{"access_token":""}"#).is_err());
        assert!(parse_token(br#"{"access_token":"t","token_type":"MAC"}"#).is_err());
        assert!(parse_token(br#"{"expires_in":1}"#).is_err());
        assert!(parse_token(b"<html>").is_err());
    }

    #[test]
    fn refreshes_at_ninety_percent_of_the_lifetime() {
        let t0 = Instant::now();
        let mut c = TokenCache::new(0.9);
        assert!(c.current(t0).is_none());
        c.store(grant("a", 100), t0);
        assert_eq!(
            c.current(t0 + Duration::from_secs(89)).unwrap().expose(),
            "a"
        );
        assert!(c.current(t0 + Duration::from_secs(90)).is_none());
    }

    #[test]
    fn invalidate_only_drops_the_token_that_failed() {
        let t0 = Instant::now();
        let mut c = TokenCache::new(0.9);
        c.store(grant("old", 100), t0);
        c.store(grant("new", 100), t0);
        c.invalidate(&Secret::new("old"));
        assert_eq!(c.current(t0).unwrap().expose(), "new");
        c.invalidate(&Secret::new("new"));
        assert!(c.current(t0).is_none());
    }

    #[test]
    fn zero_lifetime_is_never_reused() {
        let t0 = Instant::now();
        let mut c = TokenCache::new(0.9);
        let t = c.store(grant("z", 0), t0);
        assert_eq!(t.expose(), "z");
        assert!(c.current(t0).is_none());
    }
}
