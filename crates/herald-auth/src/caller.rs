//! Who a request acts as: the user its token names, if any, and its roles, assigned as
//! Backendless assigns them (reference §6): the role of the API key it used, `AuthenticatedUser`
//! or `NotAuthenticatedUser`, and the roles its token lists.

use std::sync::Arc;

pub const AUTHENTICATED_USER: &str = "AuthenticatedUser";
pub const NOT_AUTHENTICATED_USER: &str = "NotAuthenticatedUser";

/// A verified user: the id and roles its token claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub roles: Vec<String>,
}

/// The identity an operation runs under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    user_id: Option<Arc<str>>,
    roles: Vec<String>,
}

impl Caller {
    /// A caller with the key role `key_role`, logged in as `user` if there is one.
    pub fn new(key_role: &str, user: Option<User>) -> Self {
        let mut roles = Vec::with_capacity(2 + user.as_ref().map_or(0, |u| u.roles.len()));
        roles.push(key_role.to_string());
        match user {
            None => {
                roles.push(NOT_AUTHENTICATED_USER.into());
                Self {
                    user_id: None,
                    roles,
                }
            }
            Some(user) => {
                roles.push(AUTHENTICATED_USER.into());
                roles.extend(user.roles);
                Self {
                    user_id: Some(user.id.into()),
                    roles,
                }
            }
        }
    }

    /// The logged-in user's id; `None` when not logged in.
    pub fn user_id(&self) -> Option<&str> {
        self.user_id.as_deref()
    }

    pub fn roles(&self) -> impl Iterator<Item = &str> {
        self.roles.iter().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_without_a_token_is_not_authenticated() {
        let caller = Caller::new("JSUser", None);
        assert_eq!(caller.user_id(), None);
        assert_eq!(
            caller.roles().collect::<Vec<_>>(),
            ["JSUser", NOT_AUTHENTICATED_USER]
        );
    }

    #[test]
    fn a_logged_in_caller_has_the_key_role_and_its_token_roles() {
        let user = User {
            id: "u1".into(),
            roles: vec!["editor".into()],
        };
        let caller = Caller::new("RestUser", Some(user));
        assert_eq!(caller.user_id(), Some("u1"));
        assert_eq!(
            caller.roles().collect::<Vec<_>>(),
            ["RestUser", AUTHENTICATED_USER, "editor"]
        );
    }
}
