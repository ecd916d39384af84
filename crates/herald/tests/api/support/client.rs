//! A small HTTP client for the REST API of one herald.

use serde_json::{json, Value};
use std::net::SocketAddr;

use super::{API_KEY, APP_ID};

#[derive(Clone)]
pub struct Client {
    pub base: String,
    http: reqwest::Client,
}

impl Client {
    pub fn new(address: SocketAddr) -> Self {
        Self {
            base: format!("http://{address}"),
            http: reqwest::Client::new(),
        }
    }

    /// `/<app>/<key>` + `path`.
    pub fn app_url(&self, path: &str) -> String {
        format!("{}/{APP_ID}/{API_KEY}{path}", self.base)
    }

    /// Publishes `body` to `channel`; returns (HTTP status, JSON answer).
    pub async fn publish(&self, channel: &str, body: Value) -> (u16, Value) {
        self.send(
            self.http
                .post(self.app_url(&format!("/messaging/{channel}")))
                .json(&body),
        )
        .await
    }

    /// Publishes and expects acceptance; returns the message id.
    pub async fn publish_ok(&self, channel: &str, body: Value) -> String {
        let (status, answer) = self.publish(channel, body).await;
        assert_eq!(status, 200, "publish answered {answer}");
        answer["messageId"].as_str().expect("messageId").to_string()
    }

    pub async fn status(&self, message_id: &str) -> Value {
        let (status, answer) = self
            .send(
                self.http
                    .get(self.app_url(&format!("/messaging/{message_id}"))),
            )
            .await;
        assert_eq!(status, 200, "status answered {answer}");
        answer
    }

    pub async fn cancel(&self, message_id: &str) -> (u16, Value) {
        self.send(
            self.http
                .delete(self.app_url(&format!("/messaging/{message_id}"))),
        )
        .await
    }

    pub async fn subscribe(&self, channel: &str) -> String {
        self.subscribe_with(channel, json!({})).await
    }

    /// Subscribes with this body (a `selector`, say), expecting success.
    pub async fn subscribe_with(&self, channel: &str, body: Value) -> String {
        let (status, answer) = self.try_subscribe(channel, body).await;
        assert_eq!(status, 200, "subscribe answered {answer}");
        answer["subscriptionId"]
            .as_str()
            .expect("subscriptionId")
            .to_string()
    }

    pub async fn try_subscribe(&self, channel: &str, body: Value) -> (u16, Value) {
        self.send(
            self.http
                .post(self.app_url(&format!("/messaging/{channel}/subscribe")))
                .json(&body),
        )
        .await
    }

    pub async fn poll(&self, channel: &str, subscription: &str) -> (u16, Value) {
        self.send(
            self.http
                .get(self.app_url(&format!("/messaging/{channel}/{subscription}"))),
        )
        .await
    }

    /// Polls and expects success; returns the messages.
    pub async fn poll_ok(&self, channel: &str, subscription: &str) -> Vec<Value> {
        let (status, answer) = self.poll(channel, subscription).await;
        assert_eq!(status, 200, "poll answered {answer}");
        answer["messages"].as_array().expect("messages").clone()
    }

    /// Any request built by the caller; returns (status, JSON body or Null).
    pub async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let response = request.send().await.expect("herald answers");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub fn raw(&self) -> &reqwest::Client {
        &self.http
    }

    /// Waits until this herald's `/readyz` answers 200.
    pub async fn wait_ready(&self, deadline: std::time::Duration) {
        super::eventually(
            deadline,
            &format!("{} becomes ready", self.base),
            || async { self.get_raw("/readyz").await.0 == 200 },
        )
        .await;
    }

    /// GET `path` (from the root); returns (status, body text).
    pub async fn get_raw(&self, path: &str) -> (u16, String) {
        match self.http.get(format!("{}{path}", self.base)).send().await {
            Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
            Err(_) => (0, String::new()),
        }
    }
}
