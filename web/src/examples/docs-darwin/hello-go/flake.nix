{
  description = "A hello world server, packaged as a container image";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs = { self, nixpkgs }: {
    # Only a macOS output: there is no x86_64-linux (or aarch64-linux) package.
    defaultPackage.aarch64-darwin =
      let pkgs = nixpkgs.legacyPackages.aarch64-darwin;
      in pkgs.dockerTools.buildImage {
        name = "hello-world-server";
        config.Cmd = [ "${pkgs.hello}/bin/hello" ];
      };
  };
}
