//! What security costs a request: verifying an HS256 user token (new, and seen before) and
//! deciding a permission on an app with global, channel and pattern rules.

use criterion::{criterion_group, criterion_main, Criterion};
use herald_auth::permissions::{Operation, Permissions};
use herald_auth::settings::{PermissionConfig, TokenSettings};
use herald_auth::token::TokenVerifier;
use herald_auth::Caller;
use secrecy::SecretString;
use std::hint::black_box;
use std::time::Duration;

const SECRET: &str = "a-bench-secret-that-is-at-least-32-bytes";

fn bench(c: &mut Criterion) {
    let settings = TokenSettings {
        secrets: vec![SecretString::from(SECRET)],
        ..TokenSettings::default()
    };
    let verifier = TokenVerifier::build(&settings).unwrap();
    let token = herald_auth::mint::mint(
        &settings,
        "user-1",
        &["editor".into()],
        Duration::from_secs(3600),
    )
    .unwrap();
    // 10,000 distinct tokens cycle through the verifier's cache of 4,096: each is checked anew.
    let fresh: Vec<String> = (0..10_000)
        .map(|n| {
            herald_auth::mint::mint(
                &settings,
                &format!("user-{n}"),
                &["editor".into()],
                Duration::from_secs(3600),
            )
            .unwrap()
        })
        .collect();
    let mut next = fresh.iter().cycle();
    c.bench_function("verify a new HS256 user token (signature checked)", |b| {
        b.iter(|| verifier.verify(black_box(next.next().unwrap())).unwrap())
    });
    c.bench_function(
        "verify a token seen before (the SDKs send one per request)",
        |b| b.iter(|| verifier.verify(black_box(&token)).unwrap()),
    );

    let mut configs = vec![
        PermissionConfig::new(
            None,
            Some("AuthenticatedUser"),
            None,
            &[Operation::Subscribe],
            &[],
        ),
        PermissionConfig::new(
            Some("orders.*"),
            Some("editor"),
            None,
            &[Operation::Publish],
            &[],
        ),
        PermissionConfig::new(
            Some("orders.secret"),
            None,
            Some("mallory"),
            &[],
            &[Operation::Publish],
        ),
    ];
    for n in 0..50 {
        configs.push(PermissionConfig::new(
            Some(&format!("team-{n}")),
            Some(&format!("team-{n}")),
            None,
            &[Operation::Publish],
            &[],
        ));
    }
    let permissions = Permissions::build(&configs).unwrap();
    let caller = Caller::new("RestUser", Some(verifier.verify(&token).unwrap()));
    c.bench_function("decide a publish permission (53 rules, 2 patterns)", |b| {
        b.iter(|| {
            assert!(permissions.allows(
                black_box(&caller),
                Operation::Publish,
                black_box("orders.eu")
            ))
        })
    });
    c.bench_function("verify a token seen before and decide", |b| {
        b.iter(|| {
            let caller = Caller::new(
                "RestUser",
                Some(verifier.verify(black_box(&token)).unwrap()),
            );
            permissions.allows(&caller, Operation::Publish, black_box("orders.eu"))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
