//! Parsers for configuration values, each returning a [`ConfigError`] that
//! names the setting, the value and what is accepted.

use std::time::Duration;

use crate::error::ConfigError;

/// Parses a boolean: `true` or `false`, case-insensitive, surrounding spaces ignored.
pub(crate) fn boolean(setting: &'static str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ConfigError::UnknownValue {
            setting,
            value: value.to_owned(),
            accepted: "true, false",
        }),
    }
}

/// Parses a whole number of milliseconds, as the OpenTelemetry timeouts are given.
pub(crate) fn millis(setting: &'static str, value: &str) -> Result<Duration, ConfigError> {
    value
        .trim()
        .parse::<u64>()
        .map(Duration::from_millis)
        .map_err(|_| ConfigError::InvalidNumber {
            setting,
            value: value.to_owned(),
            expected: "a whole number of milliseconds, e.g. 10000",
        })
}

/// Parses a positive count, such as a queue size.
pub(crate) fn count(setting: &'static str, value: &str) -> Result<usize, ConfigError> {
    match value.trim().parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(ConfigError::InvalidNumber {
            setting,
            value: value.to_owned(),
            expected: "a whole number greater than 0",
        }),
    }
}

/// Parses a human duration such as `5s`, `250ms` or `1m 30s`.
pub(crate) fn duration(setting: &'static str, value: &str) -> Result<Duration, ConfigError> {
    humantime::parse_duration(value.trim()).map_err(|_| ConfigError::InvalidNumber {
        setting,
        value: value.to_owned(),
        expected: "a duration with a unit, e.g. 5s or 500ms",
    })
}

/// Parses a log level, or `off`.
pub(crate) fn level(
    setting: &'static str,
    value: &str,
) -> Result<Option<tracing::Level>, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "off" | "none" => Ok(None),
        "trace" => Ok(Some(tracing::Level::TRACE)),
        "debug" => Ok(Some(tracing::Level::DEBUG)),
        "info" => Ok(Some(tracing::Level::INFO)),
        "warn" => Ok(Some(tracing::Level::WARN)),
        "error" => Ok(Some(tracing::Level::ERROR)),
        _ => Err(ConfigError::UnknownValue {
            setting,
            value: value.to_owned(),
            accepted: "trace, debug, info, warn, error, off",
        }),
    }
}

/// Parses a sampling ratio in `[0, 1]`.
pub(crate) fn ratio(setting: &'static str, value: &str) -> Result<f64, ConfigError> {
    match value.trim().parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err(ConfigError::InvalidNumber {
            setting,
            value: value.to_owned(),
            expected: "a number from 0 to 1, e.g. 0.25",
        }),
    }
}

/// Parses an absolute `http` or `https` URL with a host.
pub(crate) fn endpoint(setting: &'static str, value: &str) -> Result<url::Url, ConfigError> {
    let invalid = |reason: String| ConfigError::InvalidEndpoint {
        setting,
        value: super::redact::url(value),
        reason,
    };
    let url = url::Url::parse(value.trim()).map_err(|e| invalid(e.to_string()))?;
    match url.scheme() {
        "http" | "https" => {}
        other => {
            return Err(invalid(format!(
                "the scheme {other:?} is neither http nor https"
            )));
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("it has no host".to_owned()));
    }
    Ok(url)
}

/// Parses the OpenTelemetry `key1=value1,key2=value2` form used by
/// `OTEL_RESOURCE_ATTRIBUTES` and `OTEL_EXPORTER_OTLP_HEADERS`.
///
/// Keys and values are trimmed and percent-decoded; empty entries are
/// skipped. Error messages name the entry by position, never by content,
/// because header values are often credentials.
pub(crate) fn key_values(
    setting: &'static str,
    value: &str,
) -> Result<Vec<(String, String)>, ConfigError> {
    let mut pairs = Vec::new();
    for (index, entry) in value.split(',').enumerate() {
        let entry = entry.trim();
        if entry.is_empty() {
            continue;
        }
        let invalid = |reason: &str| ConfigError::InvalidKeyValueList {
            setting,
            entry: index + 1,
            reason: reason.to_owned(),
        };
        let (key, val) = entry
            .split_once('=')
            .ok_or_else(|| invalid("it has no `=`"))?;
        let key = decode(key.trim())
            .ok_or_else(|| invalid("the key is not valid UTF-8 after percent-decoding"))?;
        let val = decode(val.trim())
            .ok_or_else(|| invalid("the value is not valid UTF-8 after percent-decoding"))?;
        if key.is_empty() {
            return Err(invalid("the key is empty"));
        }
        pairs.push((key, val));
    }
    Ok(pairs)
}

/// Parses OTLP headers: a [`key_values`] list whose keys and values are valid HTTP headers.
pub(crate) fn headers(
    setting: &'static str,
    value: &str,
) -> Result<Vec<(String, String)>, ConfigError> {
    let pairs = key_values(setting, value)?;
    for (index, (key, val)) in pairs.iter().enumerate() {
        let invalid = |reason: &str| ConfigError::InvalidKeyValueList {
            setting,
            entry: index + 1,
            reason: reason.to_owned(),
        };
        http::HeaderName::from_bytes(key.as_bytes())
            .map_err(|_| invalid("the key is not a valid HTTP header name"))?;
        http::HeaderValue::from_str(val)
            .map_err(|_| invalid("the value contains characters not allowed in an HTTP header"))?;
    }
    Ok(pairs
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect())
}

fn decode(s: &str) -> Option<String> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_accept_both_cases_and_reject_the_rest() {
        assert!(boolean("X", "TRUE").unwrap());
        assert!(!boolean("X", " false ").unwrap());
        let err = boolean("X", "yes").unwrap_err().to_string();
        assert_eq!(
            err,
            r#"X="yes" is not recognised; accepted values: true, false"#
        );
    }

    #[test]
    fn key_values_are_trimmed_decoded_and_skip_empty_entries() {
        let pairs = key_values("X", " a = 1 ,, b=hello%20world%2C ,c=").unwrap();
        assert_eq!(
            pairs,
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "hello world,".into()),
                ("c".into(), String::new())
            ]
        );
    }

    #[test]
    fn key_values_errors_name_the_entry_but_not_its_content() {
        let err = key_values("X", "a=1,secret-token").unwrap_err().to_string();
        assert!(err.contains("entry 2"), "{err}");
        assert!(!err.contains("secret-token"), "{err}");
        assert!(key_values("X", "=v").is_err());
        assert!(key_values("X", "k=%ff").is_err());
    }

    #[test]
    fn headers_must_be_valid_http_and_are_lowercased() {
        assert_eq!(
            headers("X", "Api-Key=abc").unwrap(),
            vec![("api-key".into(), "abc".into())]
        );
        assert!(headers("X", "bad key=abc").is_err());
        assert!(headers("X", "k=a%0Ab").is_err());
    }

    #[test]
    fn ratios_are_bounded() {
        assert_eq!(ratio("X", "0.25").unwrap(), 0.25);
        assert_eq!(ratio("X", "1").unwrap(), 1.0);
        for bad in ["1.5", "-0.1", "NaN", "half"] {
            assert!(ratio("X", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn endpoints_must_be_absolute_http_urls() {
        assert_eq!(
            endpoint("X", "http://collector:4318").unwrap().as_str(),
            "http://collector:4318/"
        );
        assert!(endpoint("X", "https://c.example.com/otlp").is_ok());
        for bad in [
            "collector:4317",
            "localhost",
            "ftp://x",
            "http://",
            "not a url",
        ] {
            let err = endpoint("X", bad).unwrap_err().to_string();
            assert!(err.contains("expected an absolute URL"), "{bad}: {err}");
        }
    }

    #[test]
    fn numbers_and_durations() {
        assert_eq!(millis("X", "1500").unwrap(), Duration::from_millis(1500));
        assert!(millis("X", "1.5s").is_err());
        assert_eq!(duration("X", "250ms").unwrap(), Duration::from_millis(250));
        assert!(duration("X", "5").is_err());
        assert_eq!(count("X", "10").unwrap(), 10);
        assert!(count("X", "0").is_err());
    }
}
