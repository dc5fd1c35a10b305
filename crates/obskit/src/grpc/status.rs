//! gRPC status codes as the semantic conventions name and classify them,
//! read from where a response really carries them.

use std::time::Duration;

use http::HeaderMap;
use tonic::Code;

/// The status code's name, the `rpc.status_code` value (`OK`, `NOT_FOUND`, ...).
pub(crate) fn name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// Whether a server answering `code` failed: exactly the codes the gRPC
/// semantic conventions list as server errors. (A client's NOT_FOUND or
/// INVALID_ARGUMENT is the caller's problem, not the server's.)
pub(crate) fn is_server_error(code: Code) -> bool {
    matches!(
        code,
        Code::Unknown
            | Code::DeadlineExceeded
            | Code::Unimplemented
            | Code::Internal
            | Code::Unavailable
            | Code::DataLoss
    )
}

/// Whether a client whose call ended with `code` saw an error: every code but OK.
pub(crate) fn is_client_error(code: Code) -> bool {
    code != Code::Ok
}

/// `grpc-status`, parsed once rather than on every look-up.
static GRPC_STATUS: http::HeaderName = http::HeaderName::from_static("grpc-status");
/// `grpc-timeout`, parsed once.
static GRPC_TIMEOUT: http::HeaderName = http::HeaderName::from_static("grpc-timeout");

/// The `grpc-status` in `headers` (response headers of a trailers-only
/// response, or the trailers), if any.
pub(crate) fn from_headers(headers: &HeaderMap) -> Option<Code> {
    crate::propagation::carrier::header(headers, &GRPC_STATUS)
        .map(|v| Code::from_bytes(v.as_bytes()))
}

/// The status of a response that carries no `grpc-status` where the
/// headers end: as gRPC's HTTP-to-status mapping says for a non-200
/// response, else `None` (the status comes with the trailers).
pub(crate) fn from_http(status: http::StatusCode) -> Option<Code> {
    match status.as_u16() {
        200 => None,
        400 => Some(Code::Internal),
        401 => Some(Code::Unauthenticated),
        403 => Some(Code::PermissionDenied),
        404 => Some(Code::Unimplemented),
        429 | 502 | 503 | 504 => Some(Code::Unavailable),
        _ => Some(Code::Unknown),
    }
}

/// The call's deadline from its `grpc-timeout` header (`1..=8` digits and a
/// unit: `H`, `M`, `S`, `m`, `u`, `n`); `None` when absent or malformed.
pub(crate) fn timeout(headers: &HeaderMap) -> Option<Duration> {
    let v = crate::propagation::carrier::header(headers, &GRPC_TIMEOUT)?.as_bytes();
    let (digits, unit) = v.split_at(v.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(match unit {
        b"H" => Duration::from_secs(n * 3600),
        b"M" => Duration::from_secs(n * 60),
        b"S" => Duration::from_secs(n),
        b"m" => Duration::from_millis(n),
        b"u" => Duration::from_micros(n),
        b"n" => Duration::from_nanos(n),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_classes_follow_the_semantic_conventions() {
        assert_eq!(name(Code::Ok), "OK");
        assert_eq!(name(Code::DeadlineExceeded), "DEADLINE_EXCEEDED");
        let server_errors: Vec<_> = (0..=16)
            .map(Code::from_i32)
            .filter(|c| is_server_error(*c))
            .map(name)
            .collect();
        assert_eq!(
            server_errors,
            [
                "UNKNOWN",
                "DEADLINE_EXCEEDED",
                "UNIMPLEMENTED",
                "INTERNAL",
                "UNAVAILABLE",
                "DATA_LOSS"
            ]
        );
        assert!(is_client_error(Code::NotFound));
        assert!(!is_client_error(Code::Ok));
    }

    #[test]
    fn status_is_read_from_headers_or_mapped_from_http() {
        let mut h = HeaderMap::new();
        assert_eq!(from_headers(&h), None);
        h.insert("grpc-status", "5".parse().unwrap());
        assert_eq!(from_headers(&h), Some(Code::NotFound));
        h.insert("grpc-status", "x".parse().unwrap());
        assert_eq!(from_headers(&h), Some(Code::Unknown));
        assert_eq!(from_http(http::StatusCode::OK), None);
        assert_eq!(
            from_http(http::StatusCode::NOT_FOUND),
            Some(Code::Unimplemented)
        );
        assert_eq!(
            from_http(http::StatusCode::SERVICE_UNAVAILABLE),
            Some(Code::Unavailable)
        );
        assert_eq!(
            from_http(http::StatusCode::IM_A_TEAPOT),
            Some(Code::Unknown)
        );
    }

    #[test]
    fn timeouts_follow_the_grpc_grammar() {
        let t = |s: &str| {
            let mut h = HeaderMap::new();
            h.insert("grpc-timeout", s.parse().unwrap());
            timeout(&h)
        };
        assert_eq!(t("100m"), Some(Duration::from_millis(100)));
        assert_eq!(t("2S"), Some(Duration::from_secs(2)));
        assert_eq!(t("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(t("5u"), Some(Duration::from_micros(5)));
        assert_eq!(t("123456789m"), None, "at most 8 digits");
        assert_eq!(t("m"), None);
        assert_eq!(t("10x"), None);
        assert_eq!(t("-1S"), None);
    }
}
