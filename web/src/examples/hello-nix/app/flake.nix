{
  description = "hello-nix: a tiny httpd image, built without nixpkgs";

  # No inputs, so nothing to lock and nothing to download: the builder is a
  # static busybox kept next to this file in ./bin.
  outputs = { self }:
    let
      system = "x86_64-linux";
      containerImage = derivation {
        inherit system;
        name = "hello-nix.tar";
        builder = "${./bin}/busybox";
        args = [ "sh" ./build-image.sh ];
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
