//! The `publisherId` of a publish. By default it is whatever the body says, as in Backendless.
//! An app with `publisher_id_is_user` makes it the caller's identity instead, so subscribers can
//! trust it: the logged-in user's id (none when not logged in), and a body naming anyone else is
//! refused rather than silently corrected, so a client bug shows.

use herald_core::{ApiError, ErrorKind};

/// The publisherId the envelope carries: `given` (the body's), or under `is_user` the caller's
/// `user` id, `given` being refused (9046) when it names anyone else.
pub fn publisher_id(
    is_user: bool,
    user: Option<&str>,
    given: Option<String>,
) -> Result<Option<String>, ApiError> {
    if !is_user {
        return Ok(given);
    }
    match given {
        Some(given) if Some(given.as_str()) != user => Err(ApiError::new(
            ErrorKind::PublisherIdNotTheUser,
            match user {
                Some(_) => "publisherId must be the id of the logged-in user, or left out",
                None => "publisherId must be left out when not logged in",
            },
        )),
        _ => Ok(user.map(str::to_string)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(result: Result<Option<String>, ApiError>) -> bool {
        matches!(result, Err(e) if e.kind == ErrorKind::PublisherIdNotTheUser)
    }

    #[test]
    fn off_the_body_decides() {
        assert_eq!(
            publisher_id(false, Some("u1"), Some("other".into())).unwrap(),
            Some("other".into())
        );
        assert_eq!(publisher_id(false, Some("u1"), None).unwrap(), None);
    }

    #[test]
    fn on_the_user_decides_and_another_id_is_refused() {
        assert_eq!(
            publisher_id(true, Some("u1"), None).unwrap(),
            Some("u1".into())
        );
        assert_eq!(
            publisher_id(true, Some("u1"), Some("u1".into())).unwrap(),
            Some("u1".into())
        );
        assert_eq!(publisher_id(true, None, None).unwrap(), None);
        assert!(refused(publisher_id(true, Some("u1"), Some("u2".into()))));
        assert!(refused(publisher_id(true, None, Some("u1".into()))));
    }
}
