use super::*;
use crate::caller::User;

fn user(id: &str, roles: &[&str]) -> Caller {
    Caller::new(
        "RestUser",
        Some(User {
            id: id.into(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
        }),
    )
}

fn anonymous() -> Caller {
    Caller::new("RestUser", None)
}

use Operation::*;

#[test]
fn no_permissions_grant_everything() {
    let open = Permissions::build(&[]).unwrap();
    for op in Operation::ALL {
        assert!(open.allows(&anonymous(), op, "any"));
    }
}

#[test]
fn no_grant_anywhere_means_denied() {
    let p = Permissions::build(&[PermissionConfig::new(
        None,
        Some("editor"),
        None,
        &[Publish],
        &[],
    )])
    .unwrap();
    assert!(p.allows(&user("u", &["editor"]), Publish, "news"));
    assert!(!p.allows(&user("u", &["editor"]), Subscribe, "news"));
    assert!(!p.allows(&anonymous(), Publish, "news"));
}

#[test]
fn within_one_level_a_deny_beats_a_grant() {
    let p = Permissions::build(&[
        PermissionConfig::new(Some("news"), Some("editor"), None, &[Publish], &[]),
        PermissionConfig::new(Some("news"), Some("intern"), None, &[], &[Publish]),
    ])
    .unwrap();
    assert!(p.allows(&user("u", &["editor"]), Publish, "news"));
    assert!(!p.allows(&user("u", &["editor", "intern"]), Publish, "news"));
}

#[test]
fn the_user_level_beats_the_role_level_and_the_channel_beats_global() {
    let p = Permissions::build(&[
        PermissionConfig::new(
            None,
            Some("AuthenticatedUser"),
            None,
            &[Publish, Subscribe],
            &[],
        ),
        PermissionConfig::new(
            Some("news"),
            Some("AuthenticatedUser"),
            None,
            &[],
            &[Publish],
        ),
        PermissionConfig::new(Some("news"), None, Some("alice"), &[Publish], &[]),
    ])
    .unwrap();
    assert!(
        p.allows(&user("bob", &[]), Publish, "other"),
        "global grant"
    );
    assert!(
        !p.allows(&user("bob", &[]), Publish, "news"),
        "channel role deny beats global grant"
    );
    assert!(
        p.allows(&user("alice", &[]), Publish, "news"),
        "user grant beats the role deny"
    );
    assert!(
        p.allows(&user("bob", &[]), Subscribe, "news"),
        "undecided on the channel: global decides"
    );
}

#[test]
fn glob_patterns_cover_their_channels_and_combine_with_exact_names() {
    let p = Permissions::build(&[
        PermissionConfig::new(Some("orders.*"), Some("editor"), None, &[Publish], &[]),
        PermissionConfig::new(Some("orders.secret"), Some("editor"), None, &[], &[Publish]),
    ])
    .unwrap();
    let editor = user("u", &["editor"]);
    assert!(p.allows(&editor, Publish, "orders.eu"));
    assert!(!p.allows(&editor, Publish, "orders.secret"));
    assert!(!p.allows(&editor, Publish, "ordersX"));
    assert!(!p.allows(&editor, Publish, "news"));
}

#[test]
fn star_names_every_operation() {
    let ops: Operations = serde_json::from_str(r#"["*"]"#).unwrap();
    for op in Operation::ALL {
        assert!(ops.contains(op));
    }
    let err = serde_json::from_str::<Operations>(r#"["publsh"]"#).unwrap_err();
    assert!(
        err.to_string().contains("unknown operation \"publsh\""),
        "{err}"
    );
}

#[test]
fn bad_entries_are_refused_with_their_index() {
    let cases = [
        (
            PermissionConfig::new(None, None, Some("u"), &[Publish], &[]),
            "needs a channel",
        ),
        (
            PermissionConfig::new(Some("c"), Some("r"), Some("u"), &[Publish], &[]),
            "exactly one",
        ),
        (
            PermissionConfig::new(Some("c"), None, None, &[Publish], &[]),
            "exactly one",
        ),
        (
            PermissionConfig::new(Some("c"), Some("r"), None, &[], &[]),
            "grants and denies nothing",
        ),
        (
            PermissionConfig::new(Some("orders.[x"), Some("r"), None, &[Publish], &[]),
            "channel pattern",
        ),
    ];
    for (entry, wanted) in cases {
        let err = Permissions::build(&[
            PermissionConfig::new(None, Some("ok"), None, &[Publish], &[]),
            entry,
        ])
        .unwrap_err();
        assert!(
            err.starts_with("permissions[1]: ") && err.contains(wanted),
            "{err}"
        );
    }
}
