//! A real OCI registry for the push tests and the build benchmark: Debian's
//! `docker-registry` (the CNCF distribution registry) serving a temporary folder on a free
//! loopback port, without authentication. Stopped and its folder removed on drop.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Registry {
    /// `127.0.0.1:PORT` (or the address given to `start_on`).
    pub address: String,
    dir: PathBuf,
    process: Child,
}

impl Registry {
    /// Starts a registry named `name` (its folder) on loopback and waits until it answers
    /// `GET /v2/`.
    pub fn start(name: &str) -> Registry {
        Registry::start_on(name, Ipv4Addr::LOCALHOST.into())
    }

    /// `start` on the address `ip` (one a remote engine reaches).
    pub fn start_on(name: &str, ip: IpAddr) -> Registry {
        let dir = std::env::temp_dir().join(format!("starflake-registry-{name}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("make the registry folder");
        // A port the kernel says is free; the registry binds it a moment later.
        let port = TcpListener::bind((ip, 0))
            .and_then(|listener| listener.local_addr())
            .expect("a free loopback port")
            .port();
        let address = format!("{ip}:{port}");
        let config = dir.join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {address}\n",
                dir.join("storage").display()
            ),
        )
        .expect("write the registry config");
        let process = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry runs (scripts/setup-native.sh installs it)");
        let registry = Registry {
            address,
            dir,
            process,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !registry.answers() {
            assert!(
                Instant::now() < deadline,
                "the registry at {} does not answer",
                registry.address
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        registry
    }

    fn answers(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(&self.address) else {
            return false;
        };
        let request = format!(
            "GET /v2/ HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.address
        );
        let mut answer = String::new();
        stream.write_all(request.as_bytes()).is_ok()
            && stream.read_to_string(&mut answer).is_ok()
            && answer.starts_with("HTTP/1.1 200")
    }

    /// Every blob the registry stores, counted from its folder.
    pub fn blob_count(&self) -> usize {
        let blobs = self.dir.join("storage/docker/registry/v2/blobs/sha256");
        std::fs::read_dir(blobs)
            .map(|prefixes| {
                prefixes
                    .filter_map(Result::ok)
                    .filter_map(|prefix| std::fs::read_dir(prefix.path()).ok())
                    .map(|blobs| blobs.count())
                    .sum()
            })
            .unwrap_or(0)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
