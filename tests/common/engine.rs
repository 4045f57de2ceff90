//! A second, real Docker engine for the tests: `dockerd` (with the `containerd` it starts
//! for itself) in a network namespace of its own, reached from the host over TCP through a
//! veth pair, as a remote engine is. Its data root, exec root, pidfile and config live in a
//! temporary folder of its own; on drop the daemon is stopped, the veth pair and the
//! namespace (with its bridges and firewall rules) deleted and the folder removed. It can
//! also serve its API over TLS, and run an SSH server for `ssh://`.
//!
//! Names hold the test process's ID, so that two test processes (and two engines in one
//! process) never meet; `start` first sweeps away what a killed test process left behind.
//! Only std and programs (iproute2, util-linux's nsenter/unshare, docker.io, openssl,
//! openssh-server; `scripts/setup-native.sh` installs them): the fault tests include this
//! file by itself (`#[path = "common/engine.rs"]`). Needs root.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Every engine's namespace and folder name starts so; the sweep recognises them by it.
const PREFIX: &str = "sfengine-";
/// The engine's API port: the docker CLI's for `tcp://` without TLS, and with TLS.
pub const PORT: u16 = 2375;
pub const TLS_PORT: u16 = 2376;
/// Every engine gets a /30 of this /16: the host's end and the engine's end of its veth pair.
const SUBNETS: [u8; 2] = [10, 231];

pub struct RemoteEngine {
    /// Also the name of its network namespace.
    pub name: String,
    /// The engine's end of the veth pair: where its API and published ports listen.
    pub address: Ipv4Addr,
    /// The host's end of the veth pair: where a service the engine must reach (a registry)
    /// listens.
    pub host_address: Ipv4Addr,
    /// The host's end of the veth pair (`ip link set LINK down` cuts the engine off).
    pub host_link: String,
    /// With TLS: the folder of the client's `ca.pem`, `cert.pem` and `key.pem` (for
    /// `DOCKER_CERT_PATH`); the engine then accepts only clients with a certificate of its CA.
    pub client_certificates: Option<PathBuf>,
    dir: PathBuf,
    daemon: Option<Child>,
    ssh_server: Option<Child>,
}

impl RemoteEngine {
    /// Makes the namespace and its link to the host, starts the daemon and waits until its
    /// API answers over TCP.
    pub fn start() -> RemoteEngine {
        RemoteEngine::start_with(false)
    }

    /// `start`, with the API on TLS (`--tlsverify`): a CA, a server certificate for the
    /// engine's address and a client certificate are made with `openssl` first.
    pub fn start_with_tls() -> RemoteEngine {
        RemoteEngine::start_with(true)
    }

    fn start_with(tls: bool) -> RemoteEngine {
        use std::os::unix::fs::MetadataExt;
        let uid = std::fs::metadata("/proc/self").map(|me| me.uid());
        assert_eq!(
            uid.ok(),
            Some(0),
            "the remote-engine tests need root (network namespaces, a second dockerd)"
        );
        sweep_abandoned();
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let serial = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("{PREFIX}{}-{serial}", std::process::id());
        let (host_address, address) = free_subnet(std::process::id(), serial);
        let dir = std::env::temp_dir().join(&name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("make the engine's folder");
        // The daemon reads only this config, never the host's /etc/docker/daemon.json.
        std::fs::write(dir.join("daemon.json"), "{}").expect("write the engine's config");

        let mut engine = RemoteEngine {
            name,
            address,
            host_address,
            host_link: String::new(),
            client_certificates: None,
            dir,
            daemon: None,
            ssh_server: None,
        };
        if tls {
            engine.client_certificates = Some(make_certificates(&engine.dir, address));
        }
        let (host_end, engine_end) = link_names(std::process::id(), serial);
        engine.host_link = host_end.clone();
        let name = engine.name.clone();
        ip(&["netns", "add", &name]);
        ip(&[
            "link",
            "add",
            &host_end,
            "type",
            "veth",
            "peer",
            "name",
            &engine_end,
            "netns",
            &name,
        ]);
        ip(&[
            "addr",
            "add",
            &format!("{host_address}/30"),
            "dev",
            &host_end,
        ]);
        ip(&["link", "set", &host_end, "up"]);
        in_namespace(&name, &["ip", "link", "set", "lo", "up"]);
        in_namespace(
            &name,
            &[
                "ip",
                "addr",
                "add",
                &format!("{address}/30"),
                "dev",
                &engine_end,
            ],
        );
        in_namespace(&name, &["ip", "link", "set", &engine_end, "up"]);
        engine.start_daemon();
        engine
    }

    /// `tcp://ADDRESS:PORT`, for `DOCKER_HOST`.
    pub fn docker_host(&self) -> String {
        format!("tcp://{}:{}", self.address, self.port())
    }

    fn port(&self) -> u16 {
        if self.client_certificates.is_some() {
            TLS_PORT
        } else {
            PORT
        }
    }

    /// Starts the daemon (again, after `stop_daemon`: same data root, so the same images,
    /// containers and volumes) and waits until its API answers.
    pub fn start_daemon(&mut self) {
        assert!(
            self.daemon.is_none(),
            "the engine {} runs already",
            self.name
        );
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("dockerd.log"))
            .expect("open the engine's log");
        let dir = |sub: &str| self.dir.join(sub).display().to_string();
        // Not `ip netns exec`: it mounts a fresh /sys, which hides the cgroup file systems
        // dockerd needs. `nsenter` enters the network namespace only, and `unshare` gives the
        // daemon a mount namespace of its own (a slave of the host's), so its mounts go with
        // it. Both exec, so the child is the daemon itself.
        let daemon = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", self.name))
            .args(["unshare", "--mount", "--propagation", "slave", "dockerd"])
            .arg(format!("--config-file={}", dir("daemon.json")))
            .arg(format!("--data-root={}", dir("data")))
            .arg(format!("--exec-root={}", dir("exec")))
            .arg(format!("--pidfile={}", dir("dockerd.pid")))
            .arg(format!("--host=tcp://{}:{}", self.address, self.port()))
            .arg(format!("--host=unix://{}", dir("docker.sock")))
            .args(match &self.client_certificates {
                Some(_) => vec![
                    "--tlsverify".to_owned(),
                    format!("--tlscacert={}", dir("tls/ca.pem")),
                    format!("--tlscert={}", dir("tls/server-cert.pem")),
                    format!("--tlskey={}", dir("tls/server-key.pem")),
                ],
                None => vec!["--tls=false".to_owned()],
            })
            // A registry on the host's end of the link serves plain HTTP, as on loopback.
            .arg(format!("--insecure-registry={}/30", self.host_address))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("the engine's log"))
            .stderr(log)
            .spawn()
            .expect(
                "`nsenter ... unshare ... dockerd` runs (scripts/setup-native.sh installs them)",
            );
        self.daemon = Some(daemon);
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.answers() {
            if let Some(Some(status)) = self.daemon.as_mut().map(|d| d.try_wait().ok().flatten()) {
                panic!(
                    "the engine {} ended ({status}) before it answered:\n{}",
                    self.name,
                    self.log_tail()
                );
            }
            assert!(
                Instant::now() < deadline,
                "the engine {} does not answer on {}:\n{}",
                self.name,
                self.docker_host(),
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops the daemon as `systemctl stop docker` does (SIGTERM: it stops its containers and
    /// its containerd first) and waits for it to end; the namespace and data stay.
    pub fn stop_daemon(&mut self) {
        let Some(mut daemon) = self.daemon.take() else {
            return;
        };
        signal(daemon.id(), "-TERM");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match daemon.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) if Instant::now() >= deadline => {
                    let _ = daemon.kill();
                    let _ = daemon.wait();
                    break;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// Whether `GET /_ping` answers `OK` (with TLS: whether `docker version` works).
    pub fn answers(&self) -> bool {
        if self.client_certificates.is_some() {
            return self.docker(&["version"]).status.success();
        }
        let Ok(mut stream) =
            TcpStream::connect_timeout(&(self.address, PORT).into(), Duration::from_millis(500))
        else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let mut answer = String::new();
        stream
            .write_all(b"GET /_ping HTTP/1.0\r\nHost: engine\r\n\r\n")
            .is_ok()
            && stream.read_to_string(&mut answer).is_ok()
            && answer.starts_with("HTTP/1.")
            && answer.ends_with("OK")
    }

    /// Starts an SSH server (Debian's openssh-server) in the engine's namespace, whose
    /// sessions reach this engine (`SetEnv DOCKER_HOST`), as on a machine with Docker, and
    /// returns `(DOCKER_HOST, PATH)` for a client: `ssh://root@ADDRESS`, and a folder holding
    /// an `ssh` that is the system's with a config of its own (the test's key and known-hosts
    /// file, so that the user's `~/.ssh` is left alone) first in `PATH`.
    pub fn start_ssh_server(&mut self) -> (String, String) {
        let ssh = self.dir.join("ssh");
        let bin = ssh.join("bin");
        std::fs::create_dir_all(&bin).expect("make the ssh folder");
        let path = |name: &str| ssh.join(name).display().to_string();
        for key in ["host_key", "client_key"] {
            run(
                "ssh-keygen",
                &["-q", "-t", "ed25519", "-N", "", "-f", &path(key)],
            );
        }
        std::fs::copy(ssh.join("client_key.pub"), ssh.join("authorized_keys"))
            .expect("authorize the client's key");
        let server_config = format!(
            "ListenAddress {}:22\nHostKey {}\nAuthorizedKeysFile {}\nPidFile {}\n\
             PermitRootLogin prohibit-password\nPasswordAuthentication no\nUsePAM no\n\
             StrictModes no\nSetEnv DOCKER_HOST=unix://{}\n",
            self.address,
            path("host_key"),
            path("authorized_keys"),
            path("sshd.pid"),
            self.dir.join("docker.sock").display()
        );
        std::fs::write(ssh.join("sshd_config"), server_config).expect("write sshd_config");
        let client_config = format!(
            "Host {}\n  IdentityFile {}\n  IdentitiesOnly yes\n  UserKnownHostsFile {}\n  StrictHostKeyChecking accept-new\n",
            self.address,
            path("client_key"),
            path("known_hosts")
        );
        std::fs::write(ssh.join("ssh_config"), client_config).expect("write ssh_config");
        let wrapper = bin.join("ssh");
        std::fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\nexec /usr/bin/ssh -F {} \"$@\"\n",
                path("ssh_config")
            ),
        )
        .expect("write the ssh wrapper");
        std::fs::set_permissions(
            &wrapper,
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .expect("make the ssh wrapper executable");
        // sshd refuses to start without its privilege separation folder.
        std::fs::create_dir_all("/run/sshd").expect("make /run/sshd");
        let server = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", self.name))
            .args(["/usr/sbin/sshd", "-D", "-e", "-f", &path("sshd_config")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sshd runs (scripts/setup-native.sh installs openssh-server)");
        self.ssh_server = Some(server);
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect((self.address, 22)).is_err() {
            assert!(
                Instant::now() < deadline,
                "sshd does not listen on {}:22",
                self.address
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let search = std::env::var("PATH").unwrap_or_default();
        (
            format!("ssh://root@{}", self.address),
            format!("{}:{search}", bin.display()),
        )
    }

    /// `docker ARGS` against this engine (the docker CLI, as an independent check).
    pub fn docker(&self, args: &[&str]) -> std::process::Output {
        let mut command = Command::new("docker");
        if let Some(certificates) = &self.client_certificates {
            command
                .env("DOCKER_TLS_VERIFY", "1")
                .env("DOCKER_CERT_PATH", certificates);
        }
        command
            .env_remove("DOCKER_CONTEXT")
            .args(["--host", &self.docker_host()])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("the docker CLI runs")
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("dockerd.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for RemoteEngine {
    fn drop(&mut self) {
        if let Some(mut server) = self.ssh_server.take() {
            let _ = server.kill();
            let _ = server.wait();
        }
        self.stop_daemon();
        remove(&self.name, &self.host_link, &self.dir);
    }
}

/// A CA, a server certificate for `address` and a client certificate, under `dir/tls`;
/// returns the folder of the client's files, named as the docker CLI expects them.
fn make_certificates(dir: &Path, address: Ipv4Addr) -> PathBuf {
    let tls = dir.join("tls");
    let client = tls.join("client");
    std::fs::create_dir_all(&client).expect("make the certificates' folder");
    let openssl = |args: &[&str]| {
        let output = Command::new("openssl")
            .args(args)
            .current_dir(&tls)
            .output()
            .expect("openssl runs");
        assert!(
            output.status.success(),
            "openssl {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let new_key = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let subject = "/CN=starflake test CA";
    let ca = [
        "req",
        "-x509",
        "-days",
        "1",
        "-subj",
        subject,
        "-keyout",
        "ca-key.pem",
        "-out",
        "ca.pem",
    ];
    openssl(&[&ca[..], &new_key].concat());
    for (name, extensions) in [
        (
            "server",
            format!("subjectAltName=IP:{address}\nextendedKeyUsage=serverAuth\n"),
        ),
        ("client", "extendedKeyUsage=clientAuth\n".to_owned()),
    ] {
        let (key, request, certificate, file) = (
            format!("{name}-key.pem"),
            format!("{name}.csr"),
            format!("{name}-cert.pem"),
            format!("{name}.ext"),
        );
        std::fs::write(tls.join(&file), extensions).expect("write the extensions");
        let subject = format!("/CN={name}");
        let req = ["req", "-subj", &subject, "-keyout", &key, "-out", &request];
        openssl(&[&req[..], &new_key].concat());
        openssl(&[
            "x509",
            "-req",
            "-days",
            "1",
            "-in",
            &request,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca-key.pem",
            "-CAcreateserial",
            "-extfile",
            &file,
            "-out",
            &certificate,
        ]);
    }
    for (from, to) in [
        ("ca.pem", "ca.pem"),
        ("client-cert.pem", "cert.pem"),
        ("client-key.pem", "key.pem"),
    ] {
        std::fs::copy(tls.join(from), client.join(to)).expect("copy a client file");
    }
    client
}

/// The veth pair of an engine of process `pid`: (host's end, engine's end). Interface
/// names are at most 15 bytes: the process ID in hex and the serial.
fn link_names(pid: u32, serial: u32) -> (String, String) {
    let token = format!("{pid:x}x{serial}");
    (format!("sfh{token}"), format!("sfe{token}"))
}

/// Removes what an engine named `name` with folder `dir` may have left: processes started
/// for it (each names its folder on its command line: dockerd, containerd, the shims) or
/// in its namespace (sshd's sessions, docker-proxy), its
/// veth pair (deleted here: the kernel tears a namespace down later, in the background),
/// the namespace (with the bridges and firewall rules in it) and the folder. The daemon's
/// mounts lived in its own mount namespace and went with it.
fn remove(name: &str, host_link: &str, dir: &Path) {
    let in_namespace = Command::new("ip")
        .args(["netns", "pids", name])
        .stderr(Stdio::null())
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).into_owned())
        .unwrap_or_default();
    let in_namespace = in_namespace
        .lines()
        .filter_map(|pid| pid.trim().parse().ok());
    for pid in processes_naming(dir).into_iter().chain(in_namespace) {
        signal(pid, "-KILL");
    }
    for args in [["link", "delete", host_link], ["netns", "delete", name]] {
        let _ = Command::new("ip").args(args).stderr(Stdio::null()).status();
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// Removes the engines of test processes that no longer run (killed before their drop).
fn sweep_abandoned() {
    let names = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).into_owned())
        .unwrap_or_default();
    let folders = std::fs::read_dir(std::env::temp_dir())
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let candidates = names
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .chain(folders);
    for name in candidates {
        let Some((owner, serial)) = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, serial)| Some((pid.parse::<u32>().ok()?, serial.parse().ok()?)))
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{owner}")).exists() {
            let (host_link, _) = link_names(owner, serial);
            remove(&name, &host_link, &std::env::temp_dir().join(&name));
        }
    }
}

/// A /30 of `SUBNETS` no route of the host uses yet, picked from the process ID and serial
/// so that concurrent test processes start far apart: (host's end, engine's end).
fn free_subnet(pid: u32, serial: u32) -> (Ipv4Addr, Ipv4Addr) {
    let count = 1u32 << 14;
    let first = pid.wrapping_mul(64).wrapping_add(serial) % count;
    for step in 0..count {
        let index = (first + step) % count;
        let base = index * 4;
        let network = Ipv4Addr::new(SUBNETS[0], SUBNETS[1], (base >> 8) as u8, base as u8);
        let routes = Command::new("ip")
            .args(["-4", "route", "show", "match", &format!("{network}/30")])
            .output()
            .expect("`ip route` runs");
        let used = String::from_utf8_lossy(&routes.stdout)
            .lines()
            .any(|route| route.starts_with(&format!("{network}/30")));
        if !used {
            let [a, b, c, d] = network.octets();
            return (Ipv4Addr::new(a, b, c, d + 1), Ipv4Addr::new(a, b, c, d + 2));
        }
    }
    panic!(
        "every /30 of {}.{}.0.0/16 is in use",
        SUBNETS[0], SUBNETS[1]
    );
}

/// The processes whose command line names `dir`.
fn processes_naming(dir: &Path) -> Vec<u32> {
    let needle = dir.display().to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|line| String::from_utf8_lossy(&line).contains(&needle))
                .unwrap_or(false)
        })
        .collect()
}

fn ip(args: &[&str]) {
    run("ip", args);
}

fn in_namespace(namespace: &str, command: &[&str]) {
    let mut args = vec!["netns", "exec", namespace];
    args.extend_from_slice(command);
    run("ip", &args);
}

#[track_caller]
fn run(program: &str, args: &[&str]) {
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|error| {
            panic!("{program} cannot run: {error} (run scripts/setup-native.sh)")
        });
    assert!(
        output.status.success(),
        "{program} {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn signal(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args([signal, &pid.to_string()])
        .stderr(Stdio::null())
        .status();
}
