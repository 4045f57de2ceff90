//! The static reader of `flake.nix`: read it, then check the outputs a package would ask for.
#![no_main]

use libfuzzer_sys::fuzz_target;
use starflake::flake::{FlakeCheck, FlakeFile};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (mut flake, _) = FlakeFile::read("flake.nix", text, false);
    for flake_output in [
        None,
        Some("default"),
        Some("image"),
        Some("packages.x86_64-linux.web"),
    ] {
        let _ = flake.check_use(&FlakeCheck {
            flake_file: "flake.nix",
            flake_output,
            system: "x86_64-linux",
            image_name: "app:latest",
        });
    }
    let _ = flake.summary();
});
