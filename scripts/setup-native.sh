#!/bin/sh
# Installs and starts what `starflake build` (and `cargo test --test build`) needs on Debian
# or Ubuntu: Docker (docker.io), Nix (nix-bin) with flakes enabled, a static busybox (the
# test fixtures' Nix builder), for the push tests Debian's docker-registry and skopeo, and for
# the remote-engine tests iproute2, openssl and OpenSSH. Safe to run again: it only does what
# is missing, and says what it did.
#
#   scripts/setup-native.sh            # as root, or with sudo available
#   scripts/setup-native.sh --offline  # also empty Nix's substituters (no binary cache)
#
# Without --offline, the substituters are emptied only when cache.nixos.org does not resolve
# (every build would first wait ~5 s for it).
set -eu

say() { printf 'setup-native: %s\n' "$*"; }
did() { say "$*"; changed=1; }
changed=0

offline=auto
for arg in "$@"; do
  case "$arg" in
    --offline) offline=yes ;;
    -h | --help)
      sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      say "unknown argument: $arg"
      exit 2
      ;;
  esac
done

if [ "$(id -u)" = 0 ]; then
  SUDO=
elif command -v sudo >/dev/null 2>&1; then
  SUDO=sudo
else
  say "run this as root (or install sudo)"
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  say "this script knows Debian and Ubuntu (apt-get); install Docker, Nix (with flakes) and a static busybox by hand"
  exit 1
fi

# --- packages -------------------------------------------------------------------------------
is_static_busybox() {
  [ -x /bin/busybox ] || return 1
  # A dynamic busybox cannot run inside the Nix sandbox, which has no libc.
  LC_ALL=C ldd /bin/busybox 2>&1 | grep -q 'not a dynamic executable'
}

packages=
command -v dockerd >/dev/null 2>&1 || packages="$packages docker.io"
command -v nix >/dev/null 2>&1 || packages="$packages nix-bin"
is_static_busybox || packages="$packages busybox-static"
# The push tests' registry and their independent check of what was pushed.
command -v docker-registry >/dev/null 2>&1 || packages="$packages docker-registry"
command -v skopeo >/dev/null 2>&1 || packages="$packages skopeo"
# The remote-engine tests start a second dockerd in a network namespace (`ip netns`, veth),
# reached over TCP, TLS (certificates made by openssl) and SSH (sshd in that namespace).
command -v ip >/dev/null 2>&1 || packages="$packages iproute2"
command -v openssl >/dev/null 2>&1 || packages="$packages openssl"
[ -x /usr/sbin/sshd ] || packages="$packages openssh-server"
command -v ssh >/dev/null 2>&1 || packages="$packages openssh-client"
if [ -n "$packages" ]; then
  say "installing:$packages"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086 # word splitting wanted
  $SUDO apt-get install -y -qq $packages >/dev/null
  did "installed:$packages"
else
  say "docker, nix, a static busybox, docker-registry, skopeo, iproute2, openssl and openssh are installed"
fi

# --- /etc/nix/nix.conf ------------------------------------------------------------------------
conf=/etc/nix/nix.conf
if [ "$offline" = auto ]; then
  if getent hosts cache.nixos.org >/dev/null 2>&1; then offline=no; else offline=yes; fi
fi
setting() { # the value of a nix.conf key, empty when absent
  [ -f "$conf" ] || return 0
  sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p" "$conf" | tail -n 1
}
has_key() { [ -f "$conf" ] && grep -Eq "^[[:space:]]*$1[[:space:]]*=" "$conf"; }

needs_conf=no
features=" $(setting experimental-features) $(setting extra-experimental-features) "
case "$features" in *" nix-command "*) ;; *) needs_conf=yes ;; esac
case "$features" in *" flakes "*) ;; *) needs_conf=yes ;; esac
if [ "$offline" = yes ] && { ! has_key substituters || [ -n "$(setting substituters)" ]; }; then
  needs_conf=yes
fi
users_group=no
if ! getent group nixbld >/dev/null 2>&1; then
  users_group=yes # without the group every build fails: "the group 'nixbld' ... does not exist"
  if ! has_key build-users-group || [ -n "$(setting build-users-group)" ]; then needs_conf=yes; fi
fi

if [ "$needs_conf" = yes ]; then
  $SUDO mkdir -p /etc/nix
  new=$(mktemp)
  {
    echo "# written by starflake's scripts/setup-native.sh"
    echo "experimental-features = nix-command flakes"
    echo "sandbox = true"
    echo "sandbox-fallback = false"
    if [ "$offline" = yes ]; then
      echo "# no binary cache is reachable: do not wait for one before every build"
      echo "substituters ="
      echo "flake-registry = /etc/nix/registry.json"
    fi
    if [ "$users_group" = yes ]; then
      echo "# there is no nixbld group: build as the calling user (sandboxed)"
      echo "build-users-group ="
    fi
    if [ -f "$conf" ]; then
      echo "# kept from the previous nix.conf"
      grep -Ev '^[[:space:]]*(#|$|experimental-features|extra-experimental-features|sandbox|sandbox-fallback|substituters|flake-registry|build-users-group)[[:space:]=]' "$conf" || true
    fi
  } >"$new"
  if [ -f "$conf" ]; then
    backup="$conf.bak.$(date +%Y%m%d%H%M%S)"
    $SUDO cp -p "$conf" "$backup"
    did "backed up $conf to $backup"
  fi
  $SUDO cp "$new" "$conf"
  $SUDO chmod 0644 "$conf"
  rm -f "$new"
  did "wrote $conf (flakes on, sandbox on$([ "$offline" = yes ] && echo ', no substituters'))"
  if [ "$offline" = yes ] && [ ! -f /etc/nix/registry.json ]; then
    echo '{"flakes":[],"version":2}' | $SUDO tee /etc/nix/registry.json >/dev/null
    did "wrote an empty flake registry /etc/nix/registry.json"
  fi
else
  say "$conf already enables nix-command and flakes"
fi

# A user other than root needs the Nix daemon (no systemd here: start it by hand).
if [ "$(id -u)" != 0 ]; then
  if ! nix store ping >/dev/null 2>&1; then
    if ! pgrep -x nix-daemon >/dev/null 2>&1; then
      $SUDO sh -c 'nohup nix-daemon >>/var/log/nix-daemon.log 2>&1 &'
      did "started nix-daemon (log: /var/log/nix-daemon.log)"
    fi
    if getent group nix-users >/dev/null 2>&1 && ! id -nG | tr ' ' '\n' | grep -qx nix-users; then
      $SUDO usermod -aG nix-users "$(id -un)"
      did "added $(id -un) to the nix-users group (log in again for it to count)"
    fi
  fi
fi
nix --version >/dev/null || {
  say "nix does not run"
  exit 1
}

# --- the Docker engine ----------------------------------------------------------------------
if $SUDO docker info >/dev/null 2>&1; then
  say "the Docker engine answers"
else
  if pgrep -x dockerd >/dev/null 2>&1; then
    say "dockerd runs but does not answer yet; waiting"
  else
    $SUDO sh -c 'nohup dockerd >>/var/log/dockerd.log 2>&1 &'
    did "started dockerd in the background (log: /var/log/dockerd.log)"
  fi
  waited=0
  until $SUDO docker info >/dev/null 2>&1; do
    if [ "$waited" -ge 60 ]; then
      say "the Docker engine did not answer within 60 s; see /var/log/dockerd.log"
      exit 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
  say "the Docker engine answers (after ${waited} s)"
fi
if [ "$(id -u)" != 0 ] && ! docker info >/dev/null 2>&1; then
  if getent group docker >/dev/null 2>&1 && ! id -nG | tr ' ' '\n' | grep -qx docker; then
    $SUDO usermod -aG docker "$(id -un)"
    did "added $(id -un) to the docker group (log in again for it to count)"
  fi
fi

if [ "$changed" = 1 ]; then
  say "done"
else
  say "nothing to do: everything was in place"
fi
