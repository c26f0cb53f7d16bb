//! Rate limits (governor's keyed GCRA limiters) per visitor and per IP address, answered with
//! 429 and `Retry-After`. They live in each instance's memory: with N instances behind a load
//! balancer a client gets up to N times these rates (the README says so). Admin sign-ins are also
//! limited in Postgres, in total across every instance (`sign_in`); this instance's own limit in
//! front of it keeps a flood of sign-ins from becoming a flood of database writes.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_client_ip::ClientIp;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::AppError;
use crate::server::config::Config;
use crate::server::http::visitor::VisitorId;
use crate::server::infra::metrics;

/// One IP address may make this many times a visitor's requests.
const IP_MULTIPLIER: u32 = 5;
/// Clients one limiter tracks at most (about 100 bytes each). Keys idle for a minute are pruned
/// every minute; more clients than this within one means a flood from very many addresses, and
/// the bucket then refuses everyone until the next prune rather than grow without bound.
const MAX_TRACKED_CLIENTS: usize = 500_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Bucket {
    Login,
    Activity,
    Feed,
    Search,
    Upload,
    Checkout,
}

impl Bucket {
    fn code(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Activity => "activity",
            Self::Feed => "feed",
            Self::Search => "search",
            Self::Upload => "upload",
            Self::Checkout => "checkout",
        }
    }

    fn of(method: &Method, path: &str) -> Option<Self> {
        match (method.as_str(), path) {
            ("POST", "/api/admin/login") => Some(Self::Login),
            ("POST", "/api/activity") => Some(Self::Activity),
            ("GET", "/api/feed" | "/feed") => Some(Self::Feed),
            ("GET", "/api/search" | "/search") => Some(Self::Search),
            ("POST", "/api/room-photo" | "/api/upload" | "/api/admin/jobs/import" | "/api/admin/paintings/batch") => {
                Some(Self::Upload)
            }
            ("POST", "/api/checkout") => Some(Self::Checkout),
            _ => None,
        }
    }
}

struct Limiter {
    per_visitor: Option<DefaultKeyedRateLimiter<VisitorId>>,
    per_ip: DefaultKeyedRateLimiter<IpAddr>,
    max_clients: usize,
}

impl Limiter {
    fn new(per_minute: u32, per_visitor: bool) -> Self {
        let quota = |n: u32| Quota::per_minute(NonZeroU32::new(n.max(1)).expect("at least one"));
        let ip_quota = if per_visitor { per_minute.saturating_mul(IP_MULTIPLIER) } else { per_minute };
        Self {
            per_visitor: per_visitor.then(|| RateLimiter::keyed(quota(per_minute))),
            per_ip: RateLimiter::keyed(quota(ip_quota)),
            max_clients: MAX_TRACKED_CLIENTS,
        }
    }

    fn is_full(&self) -> bool {
        self.per_ip.len() >= self.max_clients || self.per_visitor.as_ref().is_some_and(|v| v.len() >= self.max_clients)
    }
}

pub struct RateLimits {
    buckets: HashMap<Bucket, Limiter>,
}

impl RateLimits {
    pub fn from_config(config: &Config) -> Self {
        let buckets = HashMap::from([
            (Bucket::Login, Limiter::new(config.rate_login_per_minute, false)),
            (Bucket::Activity, Limiter::new(config.rate_activity_per_minute, true)),
            (Bucket::Feed, Limiter::new(config.rate_feed_per_minute, true)),
            (Bucket::Search, Limiter::new(config.rate_search_per_minute, true)),
            (Bucket::Upload, Limiter::new(config.rate_upload_per_minute, true)),
            (Bucket::Checkout, Limiter::new(config.rate_checkout_per_minute, true)),
        ]);
        Self { buckets }
    }

    /// None when allowed, else how long to wait. The address is checked first, so fresh visitor
    /// ids (a request without a cookie gets one) cannot buy an address more requests.
    fn check(&self, bucket: Bucket, visitor: Option<VisitorId>, ip: IpAddr) -> Option<Duration> {
        let limiter = &self.buckets[&bucket];
        if limiter.is_full() {
            // The shared sign-in limit in Postgres still holds: a flood cannot lock the admins out.
            if bucket == Bucket::Login {
                return None;
            }
            tracing::warn!(?bucket, "rate limiter full: refusing until the next prune");
            return Some(Duration::from_secs(60));
        }
        let now = DefaultClock::default().now();
        if let Err(not_until) = limiter.per_ip.check_key(&network_of(ip)) {
            return Some(not_until.wait_time_from(now));
        }
        match (&limiter.per_visitor, visitor) {
            (Some(per_visitor), Some(visitor)) => {
                per_visitor.check_key(&visitor).err().map(|not_until| not_until.wait_time_from(now))
            }
            _ => None,
        }
    }

    /// Forgets keys that are back to a full quota, so memory stays bounded.
    pub fn prune(&self) {
        for limiter in self.buckets.values() {
            limiter.per_ip.retain_recent();
            if let Some(per_visitor) = &limiter.per_visitor {
                per_visitor.retain_recent();
            }
        }
    }
}

/// What one client controls: an IPv4 address, or an IPv6 /64 (one customer's network: a single
/// host can use any address in it).
/// An IPv4 client seen on a dual-stack listener (`::ffff:a.b.c.d`) is that IPv4 address.
pub(crate) fn network_of(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        ip @ IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
    }
}

/// The client's address, from where `ARTWALL_CLIENT_IP_SOURCE` says (the router puts it in every
/// request): the TCP peer, or the header the shop's load balancer sets. A request without that
/// header did not come through the balancer and is its peer; unknown in in-process tests.
pub async fn client_ip(parts: &mut Parts) -> IpAddr {
    match ClientIp::from_request_parts(parts, &()).await {
        Ok(ClientIp(ip)) => ip,
        Err(_) => parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip()),
    }
}

pub async fn rate_limit(State(limits): State<std::sync::Arc<RateLimits>>, request: Request, next: Next) -> Response {
    let Some(bucket) = Bucket::of(request.method(), request.uri().path()) else {
        return next.run(request).await;
    };
    // The verified visitor the visitor middleware (outside this one) put there.
    let visitor = request.extensions().get::<VisitorId>().copied();
    let (mut parts, body) = request.into_parts();
    let ip = client_ip(&mut parts).await;
    let request = Request::from_parts(parts, body);
    match limits.check(bucket, visitor, ip) {
        None => next.run(request).await,
        Some(wait) => {
            let mut response = refused(bucket.code(), ip).into_response();
            response.headers_mut().insert(header::RETRY_AFTER, retry_after(wait));
            response
        }
    }
}

/// Logs and counts a request refused by the limit named `bucket`; it is answered with 429 and
/// `Retry-After`.
pub fn refused(bucket: &'static str, ip: IpAddr) -> AppError {
    tracing::warn!(bucket, %ip, "rate limited");
    metrics::rate_limited(bucket);
    AppError::RateLimited
}

/// `Retry-After` for a wait: whole seconds, rounded up, at least one.
pub fn retry_after(wait: Duration) -> HeaderValue {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    HeaderValue::from(seconds.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_limits() -> RateLimits {
        use clap::Parser;
        let cli = crate::server::config::Cli::try_parse_from(["artwall", "--database-url", "postgres://unused"]);
        RateLimits::from_config(&cli.unwrap().config)
    }

    #[test]
    fn a_full_limiter_refuses_new_clients_instead_of_growing() {
        let mut limits = default_limits();
        limits.buckets.get_mut(&Bucket::Feed).unwrap().max_clients = 3;
        let ip = |n: u8| IpAddr::V4(Ipv4Addr::new(198, 51, 100, n));
        for n in 0..3 {
            assert_eq!(limits.check(Bucket::Feed, None, ip(n)), None, "client {n} is within the cap");
        }
        assert_eq!(limits.check(Bucket::Feed, None, ip(9)), Some(Duration::from_secs(60)));
        assert_eq!(limits.buckets[&Bucket::Feed].per_ip.len(), 3, "the refused client is not tracked");
        assert_eq!(limits.check(Bucket::Search, None, ip(9)), None, "other buckets are unaffected");
    }

    #[test]
    fn a_client_is_its_ipv4_address_or_its_ipv6_64() {
        let network = |ip: &str| network_of(ip.parse().unwrap()).to_string();
        assert_eq!(network("203.0.113.7"), "203.0.113.7");
        assert_eq!(network("::ffff:203.0.113.7"), "203.0.113.7", "IPv4 on a dual-stack listener");
        assert_eq!(network("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::");
        assert_ne!(network("2001:db8:1:3::1"), network("2001:db8:1:2::1"));
    }
}
