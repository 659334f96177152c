//! The console in a real browser: headless Chromium driven through chromedriver (WebDriver),
//! the way a reviewer uses it — open the overview, filter decisions by outcome `block` and by
//! repository with the form, open a session's timeline, open a decision, go back — with a
//! screenshot of each view.
//!
//! Screenshots go to `<target>/tmp/console-screenshots/`, and also to `CAVRA_SCREENSHOTS_DIR`
//! when set (`CAVRA_SCREENSHOTS_DIR=docs/screenshots` refreshes the README's). Without
//! chromedriver and chromium the test is SKIPPED loudly, unless `CI` is set, where it fails;
//! `scripts/test` installs them (Debian `chromium`, `chromium-driver`).
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "a test: a failed assumption is a failed test"
)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

use crate::console::seeded_with;
use crate::helpers::Home;

/// A program on `PATH`.
fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join(name))
        .find(|p| p.is_file())
}

/// chromedriver on a free port, killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_driver(path: &Path) -> Driver {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "chromedriver did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    driver
}

async fn browser(driver: &Driver, chromium: &Path) -> Client {
    let capabilities = serde_json::json!({
        "goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--hide-scrollbars", "--window-size=1400,1100", "--force-device-scale-factor=1"]
        }
    });
    let serde_json::Value::Object(capabilities) = capabilities else {
        unreachable!()
    };
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .unwrap_or_else(|e| panic!("cannot start a Chromium session: {e}"))
}

/// Saves a screenshot of the current page under `name`.
async fn shoot(client: &Client, name: &str) {
    // The whole page, up to a limit: the window grows to the document's height first.
    let height = client
        .execute("return document.documentElement.scrollHeight", vec![])
        .await
        .unwrap()
        .as_u64()
        .unwrap_or(1100);
    let height = u32::try_from(height.clamp(600, 2000)).unwrap();
    client.set_window_size(1400, height).await.unwrap();
    let png = client.screenshot().await.unwrap();
    client.set_window_size(1400, 1100).await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    let mut dirs = vec![PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots")];
    if let Some(dir) = std::env::var_os("CAVRA_SCREENSHOTS_DIR") {
        let dir = PathBuf::from(dir);
        // Relative to the workspace, not to this crate, whatever the test's working directory.
        dirs.push(if dir.is_absolute() {
            dir
        } else {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(dir)
        });
    }
    for dir in dirs {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), &png).unwrap();
    }
}

/// The text of every element matching `css`.
async fn texts(client: &Client, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in client.find_all(Locator::Css(css)).await.unwrap() {
        out.push(e.text().await.unwrap());
    }
    out
}

/// A reviewer's walk through the console in headless Chromium: overview, decisions filtered by
/// outcome `block` and repository through the form, a session's timeline, a decision's detail,
/// and back — each view screenshotted.
#[test]
fn a_reviewer_walks_the_console_in_chromium() {
    let (Some(driver_path), Some(chromium)) = (
        which("chromedriver"),
        which("chromium").or_else(|| which("chromium-browser")),
    ) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromedriver and chromium are required in CI (apt-get install chromium chromium-driver)"
        );
        eprintln!("SKIPPED a_reviewer_walks_the_console_in_chromium: chromedriver or chromium is not installed");
        return;
    };
    let (server, seed) = seeded_with(Home::new(), 36);
    let driver = start_driver(&driver_path);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let c = browser(&driver, &chromium).await;
        let base = &server.base;

        // The overview.
        c.goto(&format!("{base}/console?range=7d")).await.unwrap();
        let h1 = c.find(Locator::Css("h1")).await.unwrap().text().await.unwrap();
        assert_eq!(h1, "Activity overview");
        assert!(!texts(&c, ".kpi-value").await.is_empty());
        assert!(
            c.find(Locator::Css("figure.chart svg rect.f-block")).await.is_ok(),
            "blocks are charted"
        );
        shoot(&c, "overview").await;

        // Decisions, filtered with the form: outcome `block`, repository `acme/payments`.
        c.find(Locator::LinkText("Decisions"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        c.wait().for_element(Locator::Css("form.filters")).await.unwrap();
        c.find(Locator::Css("#f-decision"))
            .await
            .unwrap()
            .select_by_value("block")
            .await
            .unwrap();
        c.find(Locator::Css("#f-repo"))
            .await
            .unwrap()
            .send_keys("acme/payments")
            .await
            .unwrap();
        c.find(Locator::Css("form.filters button[type=submit]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let started = Instant::now();
        let url = loop {
            let url = c.current_url().await.unwrap();
            if url.query().is_some_and(|q| q.contains("decision=block")) {
                break url;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the form did not navigate: {url}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        c.wait().for_element(Locator::Css("table.data")).await.unwrap();
        let query = url.query().unwrap_or("");
        assert!(
            query.contains("repository=acme%2Fpayments"),
            "the filters are in the URL: {query}"
        );
        let outcomes = texts(&c, "table.data tbody td:nth-child(2)").await;
        assert!(!outcomes.is_empty(), "blocked decisions in acme/payments are listed");
        assert!(outcomes.iter().all(|o| o == "Block"), "{outcomes:?}");
        let repositories = texts(&c, "table.data tbody td:nth-child(8)").await;
        assert!(repositories.iter().all(|r| r == "acme/payments"), "{repositories:?}");
        shoot(&c, "decisions").await;

        // The demo session's timeline, from its link in the table.
        let link = format!("a[href='/console/sessions/{}']", seed.demo_session);
        c.find(Locator::Css(&link)).await.unwrap().click().await.unwrap();
        c.wait().for_element(Locator::Css("ol.timeline")).await.unwrap();
        let integrity = c
            .find(Locator::Css(".integrity h2"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(integrity.contains("Chain intact"), "{integrity}");
        assert_eq!(texts(&c, "ol.timeline li.event").await.len(), 6);
        shoot(&c, "timeline").await;

        // A decision's detail: the approval in the demo session.
        let timeline_url = c.current_url().await.unwrap();
        let approval = c.find(Locator::Css("li.e-require_approval a.open")).await.unwrap();
        approval.click().await.unwrap();
        c.wait().for_element(Locator::Css("section.verdict")).await.unwrap();
        let reason = c.find(Locator::Css("h1.reason")).await.unwrap().text().await.unwrap();
        assert!(!reason.is_empty());
        assert!(texts(&c, "h2").await.iter().any(|h| h == "Evidence"));
        shoot(&c, "decision").await;

        // The back button returns to the timeline.
        c.back().await.unwrap();
        c.wait().for_element(Locator::Css("ol.timeline")).await.unwrap();
        assert_eq!(c.current_url().await.unwrap(), timeline_url);
        c.close().await.unwrap();
    });
    drop(driver);
}
