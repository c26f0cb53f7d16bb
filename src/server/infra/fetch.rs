//! Downloading images from URLs an admin gave, without letting those URLs reach inside our own
//! network (SSRF): http and https only, every address checked after DNS (so a name that
//! resolves to 10.0.0.1 is refused too) and at every redirect hop, at most
//! `MAX_REDIRECTS` hops, the size limit enforced while streaming, and the content sniffed
//! rather than trusted from `Content-Type`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect;
use url::Url;

use crate::server::http::locale::message;

pub const MAX_REDIRECTS: usize = 3;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FetchError {
    #[error("not a valid URL")]
    BadUrl,
    #[error("only http and https URLs can be imported")]
    Scheme,
    #[error("refused: {0} is a loopback, private or link-local address")]
    PrivateAddress(String),
    #[error("more than {MAX_REDIRECTS} redirects")]
    TooManyRedirects,
    #[error("the server answered HTTP {0}")]
    Status(u16),
    #[error("larger than the limit of {0} bytes")]
    TooLarge(u64),
    #[error("not an image (JPEG, PNG or WebP)")]
    NotAnImage,
    #[error("timed out")]
    Timeout,
    #[error("could not connect: {0}")]
    Connect(String),
}

impl FetchError {
    /// Why, for the admin who gave the URL, in their language (the `Display` stays English for
    /// logs and stored import reasons).
    pub fn message(&self) -> String {
        match self {
            Self::BadUrl => message!(fetch.bad_url),
            Self::Scheme => message!(fetch.scheme),
            Self::PrivateAddress(address) => message!(fetch.private_address, address),
            Self::TooManyRedirects => message!(fetch.too_many_redirects, max = MAX_REDIRECTS),
            Self::Status(status) => message!(fetch.status, status),
            Self::TooLarge(limit) => message!(fetch.too_large, limit),
            Self::NotAnImage => message!(fetch.not_an_image),
            Self::Timeout => message!(fetch.timeout),
            Self::Connect(_) => message!(fetch.connect),
        }
    }
}

/// The HTTP client for admin-given URLs.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    max_bytes: u64,
    allow_private: bool,
}

impl Fetcher {
    /// `allow_private` is for tests that serve images from 127.0.0.1, nothing else.
    pub fn new(max_bytes: u64, timeout: Duration, allow_private: bool) -> Self {
        let policy = redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > MAX_REDIRECTS {
                return attempt.error(FetchError::TooManyRedirects);
            }
            match check_url(attempt.url(), allow_private) {
                Ok(()) => attempt.follow(),
                Err(error) => attempt.error(error),
            }
        });
        let client = reqwest::Client::builder()
            .redirect(policy)
            // A proxy from the environment would make the request from elsewhere, past the checks.
            .no_proxy()
            .dns_resolver(Arc::new(PublicOnly { allow_private }))
            .connect_timeout(Duration::from_secs(10).min(timeout))
            .timeout(timeout)
            .user_agent(concat!("ArtWall/", env!("CARGO_PKG_VERSION"), " (catalogue import)"))
            .build()
            .expect("a static client configuration");
        Self { client, max_bytes, allow_private }
    }

    /// The image at `url`, checked as above.
    pub async fn image(&self, url: &str) -> Result<Bytes, FetchError> {
        let url = Url::parse(url).map_err(|_| FetchError::BadUrl)?;
        check_url(&url, self.allow_private)?;
        let mut response = self.client.get(url).send().await.map_err(classify)?;
        if !response.status().is_success() {
            return Err(FetchError::Status(response.status().as_u16()));
        }
        if response.content_length().is_some_and(|n| n > self.max_bytes) {
            return Err(FetchError::TooLarge(self.max_bytes));
        }
        let mut body = BytesMut::new();
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            if body.len() as u64 + chunk.len() as u64 > self.max_bytes {
                return Err(FetchError::TooLarge(self.max_bytes));
            }
            body.extend_from_slice(&chunk);
            // Sniff as soon as there are enough bytes, so a large non-image stops early.
            if body.len() >= SNIFF_BYTES && body.len() - chunk.len() < SNIFF_BYTES && !is_image(&body) {
                return Err(FetchError::NotAnImage);
            }
        }
        if !is_image(&body) {
            return Err(FetchError::NotAnImage);
        }
        Ok(body.freeze())
    }
}

const SNIFF_BYTES: usize = 16;

fn is_image(bytes: &[u8]) -> bool {
    matches!(
        image::guess_format(bytes),
        Ok(image::ImageFormat::Jpeg | image::ImageFormat::Png | image::ImageFormat::WebP)
    )
}

/// Scheme, and the host when it is an IP literal (names are checked by the resolver).
fn check_url(url: &Url, allow_private: bool) -> Result<(), FetchError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(FetchError::Scheme);
    }
    let ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
        Some(url::Host::Domain(_)) => return Ok(()),
        None => return Err(FetchError::BadUrl),
    };
    if !allow_private && !is_public(ip) {
        return Err(FetchError::PrivateAddress(ip.to_string()));
    }
    Ok(())
}

/// Addresses a server-side fetch must never reach.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            let shared_cgnat = a == 100 && (64..128).contains(&b);
            let benchmarking = a == 198 && (18..20).contains(&b); // 198.18.0.0/15
            let protocol_assignments = a == 192 && b == 0 && v4.octets()[2] == 0; // 192.0.0.0/24
            let reserved = a >= 240; // 240.0.0.0/4, the broadcast address included
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || shared_cgnat
                || benchmarking
                || protocol_assignments
                || reserved
                || a == 0)
        }
        // IPv4-mapped and IPv4-compatible (`::a.b.c.d`) addresses are the IPv4 address they carry.
        IpAddr::V6(v6) => match v6.to_ipv4() {
            Some(v4) if !v6.is_loopback() && !v6.is_unspecified() => is_public(IpAddr::V4(v4)),
            _ => {
                let [first, second, ..] = v6.segments();
                // NAT64 (64:ff9b::/96 and the local-use 64:ff9b:1::/48), IPv4-translated
                // (::ffff:0:0/96), 6to4 (2002::/16) and Teredo (2001::/32) reach IPv4 hosts by
                // translation, and site-local (fec0::/10) is private: none may be fetched.
                let segments = v6.segments();
                let nat64 = first == 0x64 && second == 0xff9b && (segments[2..6] == [0, 0, 0, 0] || segments[2] == 1);
                let translated = segments[..5] == [0, 0, 0, 0, 0xffff] && segments[5] == 0;
                let teredo = first == 0x2001 && second == 0;
                let six_to_four = first == 0x2002;
                let site_local = first & 0xffc0 == 0xfec0;
                !(v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_multicast()
                    || v6.is_unique_local()
                    || v6.is_unicast_link_local()
                    || nat64
                    || translated
                    || teredo
                    || six_to_four
                    || site_local)
            }
        },
    }
}

/// DNS that drops every non-public address, so a public-looking name cannot lead inside.
struct PublicOnly {
    allow_private: bool,
}

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = all.iter().copied().filter(|a| allow_private || is_public(a.ip())).collect();
            if allowed.is_empty() {
                let shown = all.first().map_or_else(|| host.clone(), |a| format!("{host} ({})", a.ip()));
                return Err(Box::new(FetchError::PrivateAddress(shown)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// A reqwest error as the reason shown to the admin, keeping our own refusals intact.
fn classify(error: reqwest::Error) -> FetchError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(current) = source {
        if let Some(ours) = current.downcast_ref::<FetchError>() {
            return ours.clone();
        }
        source = current.source();
    }
    if error.is_timeout() {
        FetchError::Timeout
    } else {
        let root = std::iter::successors(Some(&error as &dyn std::error::Error), |e| e.source())
            .last()
            .map(ToString::to_string);
        FetchError::Connect(root.unwrap_or_else(|| error.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_loopback_link_local_reserved_and_translated_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::127.0.0.1",
            "::10.0.0.1",
            "64:ff9b::a00:1",
            "64:ff9b::808:808",
            "64:ff9b:1::a00:1",
            "::ffff:0:a00:1",
            "2001:0:4136:e378::1",
            "192.0.0.8",
            "2002:a00:1::1",
            "fec0::1",
            "198.18.0.1",
            "198.19.255.255",
            "240.0.0.1",
            "255.255.255.255",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "198.20.0.1", "223.255.255.1"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn only_http_and_https_with_public_literal_hosts() {
        let check = |u: &str| check_url(&Url::parse(u).unwrap(), false);
        assert_eq!(check("file:///etc/passwd"), Err(FetchError::Scheme));
        assert_eq!(check("ftp://example.com/a.jpg"), Err(FetchError::Scheme));
        assert_eq!(
            check("http://169.254.169.254/latest/meta-data"),
            Err(FetchError::PrivateAddress("169.254.169.254".into()))
        );
        assert_eq!(check("http://[::1]:8080/a.jpg"), Err(FetchError::PrivateAddress("::1".into())));
        assert_eq!(check("https://example.com/a.jpg"), Ok(()));
        assert_eq!(check_url(&Url::parse("http://127.0.0.1/a.jpg").unwrap(), true), Ok(()));
    }
}
