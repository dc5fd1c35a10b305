//! Low-cardinality label values for HTTP metrics and span names.

use http::Method;

use crate::metrics::names::METHOD_OTHER;

/// The method as the semantic conventions name it; anything outside the
/// registered set becomes `_OTHER`, so a client cannot mint label values.
pub(crate) fn method(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => METHOD_OTHER,
    }
}

/// The span name when there is no route: the method, or `HTTP` for a
/// method outside the registered set (as the semantic conventions say).
pub(crate) fn span_name(method: &'static str) -> &'static str {
    if method == METHOD_OTHER {
        "HTTP"
    } else {
        method
    }
}

/// `error.type` for a server response: the status code for 5xx, else none.
pub(crate) fn server_error_type(status: u16) -> Option<&'static str> {
    (500..600).contains(&status).then(|| status_str(status))
}

/// `error.type` for a client response: the status code for 4xx and 5xx.
pub(crate) fn client_error_type(status: u16) -> Option<&'static str> {
    (400..600).contains(&status).then(|| status_str(status))
}

/// A status code as static text, without allocating per request.
pub(crate) fn status_str(status: u16) -> &'static str {
    if (100..600).contains(&status) {
        STATUS_TEXT[usize::from(status - 100)]
    } else {
        "_OTHER"
    }
}

macro_rules! status_table {
    ($($hundreds:literal),*) => {
        [$(
            concat!($hundreds, "00"), concat!($hundreds, "01"), concat!($hundreds, "02"), concat!($hundreds, "03"), concat!($hundreds, "04"),
            concat!($hundreds, "05"), concat!($hundreds, "06"), concat!($hundreds, "07"), concat!($hundreds, "08"), concat!($hundreds, "09"),
            concat!($hundreds, "10"), concat!($hundreds, "11"), concat!($hundreds, "12"), concat!($hundreds, "13"), concat!($hundreds, "14"),
            concat!($hundreds, "15"), concat!($hundreds, "16"), concat!($hundreds, "17"), concat!($hundreds, "18"), concat!($hundreds, "19"),
            concat!($hundreds, "20"), concat!($hundreds, "21"), concat!($hundreds, "22"), concat!($hundreds, "23"), concat!($hundreds, "24"),
            concat!($hundreds, "25"), concat!($hundreds, "26"), concat!($hundreds, "27"), concat!($hundreds, "28"), concat!($hundreds, "29"),
            concat!($hundreds, "30"), concat!($hundreds, "31"), concat!($hundreds, "32"), concat!($hundreds, "33"), concat!($hundreds, "34"),
            concat!($hundreds, "35"), concat!($hundreds, "36"), concat!($hundreds, "37"), concat!($hundreds, "38"), concat!($hundreds, "39"),
            concat!($hundreds, "40"), concat!($hundreds, "41"), concat!($hundreds, "42"), concat!($hundreds, "43"), concat!($hundreds, "44"),
            concat!($hundreds, "45"), concat!($hundreds, "46"), concat!($hundreds, "47"), concat!($hundreds, "48"), concat!($hundreds, "49"),
            concat!($hundreds, "50"), concat!($hundreds, "51"), concat!($hundreds, "52"), concat!($hundreds, "53"), concat!($hundreds, "54"),
            concat!($hundreds, "55"), concat!($hundreds, "56"), concat!($hundreds, "57"), concat!($hundreds, "58"), concat!($hundreds, "59"),
            concat!($hundreds, "60"), concat!($hundreds, "61"), concat!($hundreds, "62"), concat!($hundreds, "63"), concat!($hundreds, "64"),
            concat!($hundreds, "65"), concat!($hundreds, "66"), concat!($hundreds, "67"), concat!($hundreds, "68"), concat!($hundreds, "69"),
            concat!($hundreds, "70"), concat!($hundreds, "71"), concat!($hundreds, "72"), concat!($hundreds, "73"), concat!($hundreds, "74"),
            concat!($hundreds, "75"), concat!($hundreds, "76"), concat!($hundreds, "77"), concat!($hundreds, "78"), concat!($hundreds, "79"),
            concat!($hundreds, "80"), concat!($hundreds, "81"), concat!($hundreds, "82"), concat!($hundreds, "83"), concat!($hundreds, "84"),
            concat!($hundreds, "85"), concat!($hundreds, "86"), concat!($hundreds, "87"), concat!($hundreds, "88"), concat!($hundreds, "89"),
            concat!($hundreds, "90"), concat!($hundreds, "91"), concat!($hundreds, "92"), concat!($hundreds, "93"), concat!($hundreds, "94"),
            concat!($hundreds, "95"), concat!($hundreds, "96"), concat!($hundreds, "97"), concat!($hundreds, "98"), concat!($hundreds, "99"),
        )*]
    };
}

const STATUS_TEXT: [&str; 500] = status_table!(1, 2, 3, 4, 5);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_outside_the_registry_become_other() {
        assert_eq!(method(&Method::GET), "GET");
        assert_eq!(method(&Method::from_bytes(b"PROPFIND").unwrap()), "_OTHER");
        assert_eq!(method(&Method::from_bytes(b"get").unwrap()), "_OTHER");
    }

    #[test]
    fn status_text_and_error_types() {
        assert_eq!(status_str(100), "100");
        assert_eq!(status_str(204), "204");
        assert_eq!(status_str(599), "599");
        assert_eq!(status_str(99), "_OTHER");
        assert_eq!(server_error_type(503), Some("503"));
        assert_eq!(server_error_type(404), None);
        assert_eq!(client_error_type(404), Some("404"));
        assert_eq!(client_error_type(200), None);
    }
}
