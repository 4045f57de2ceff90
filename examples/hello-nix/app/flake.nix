{
  description = "hello-nix: a busybox httpd container image, built offline without nixpkgs";

  # No inputs: the builder is a static busybox copied into ./bin by scripts/run-example.sh.
  outputs = { self }:
    let
      system = "x86_64-linux";
      containerImage = derivation {
        inherit system;
        name = "hello-nix.tar";
        builder = "${./bin}/busybox";
        args = [ "sh" ./build-image.sh ];
        busybox = "${./bin}/busybox";
        imageName = "hello-nix";
        imageTag = "latest";
      };
    in {
      packages.${system} = {
        inherit containerImage;
        default = containerImage;
      };
    };
}
