{
  description = "shop: the api and worker images";

  outputs = { self }:
    let
      system = "x86_64-linux";
      image = component: derivation {
        inherit system;
        name = "shop-${component}.tar";
        builder = "${./bin}/busybox";
        args = [ "sh" ./build-image.sh component ];
        imageName = "shop-${component}";
        imageTag = "latest";
      };
    in {
      packages.${system} = {
        api = image "api";
        worker = image "worker";
      };
    };
}
