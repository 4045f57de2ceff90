//! The generated package both benchmarks use: about 20,000 lines over 100 modules, 800
//! services, a third of them built with Nix.

const MODULES: usize = 100;
const SERVICES_PER_MODULE: usize = 8;

/// A Kurtosis-style module: constants, helper functions, comprehensions and services.
fn module(index: usize) -> String {
    let mut text = format!(
        "shared = import_module(\"/src/shared.star\")\n\nPREFIX = \"m{index}\"\nDEFAULTS = {{\n    \"cpu\": 500,\n    \"memory\": 256,\n    \"labels\": {{\"team\": \"t{index}\", \"tier\": \"backend\"}},\n}}\n\n"
    );
    text.push_str(
        "def env_for(name, extra):\n    env = {\"SERVICE\": name, \"PREFIX\": PREFIX}\n    for key, value in extra.items():\n        env[key.upper()] = str(value)\n    return env\n\n",
    );
    text.push_str("def launch(plan, args):\n    services = []\n");
    for service in 0..SERVICES_PER_MODULE {
        text.push_str(&format!(
            r#"    # service {service} of module {index}
    ports_{service} = {{
        "http": PortSpec(number = {port}, application_protocol = "http", wait = "30s"),
        "metrics": PortSpec(number = {metrics}, transport_protocol = "TCP"),
    }}
    env_{service} = env_for("svc-{index}-{service}", {{"replicas": {service}, "debug": False, "peers": ",".join([str(p) for p in range(3)])}})
    image_{service} = NixBuildSpec(
        image_name = "bench/m{index}-s{service}:v1",
        build_context_dir = "/nix",
        flake_location_dir = "app{flake}",
        flake_output = "image",
    ) if {service} % 3 == 0 else "registry.local/bench/m{index}-s{service}:v1"
    config_{service} = ServiceConfig(
        image = image_{service},
        ports = ports_{service},
        env_vars = env_{service},
        cmd = ["serve", "--port", "{port}"],
        max_cpu = DEFAULTS["cpu"],
        max_memory = DEFAULTS["memory"],
        labels = DEFAULTS["labels"],
    )
    services.append(plan.add_service(name = shared.name(PREFIX, {service}), config = config_{service}))
"#,
            port = 8000 + service,
            metrics = 9000 + service,
            flake = service % 4,
        ));
    }
    text.push_str("    return services\n");
    text
}

/// Every file of the package: (path relative to its root, text).
pub fn files() -> Vec<(String, String)> {
    let mut files = vec![
        (
            "kurtosis.yml".to_owned(),
            "name: github.com/bench/large-package\n".to_owned(),
        ),
        (
            "src/shared.star".to_owned(),
            "def name(prefix, index):\n    return \"%s-svc-%d\" % (prefix, index)\n".to_owned(),
        ),
    ];
    let mut main = String::new();
    for index in 0..MODULES {
        main.push_str(&format!(
            "m{index} = import_module(\"/src/m{index}.star\")\n"
        ));
        files.push((format!("src/m{index}.star"), module(index)));
    }
    main.push_str("\ndef run(plan, args):\n");
    for index in 0..MODULES {
        main.push_str(&format!("    m{index}.launch(plan, args)\n"));
    }
    files.push(("main.star".to_owned(), main));
    for flake in 0..4 {
        files.push((
            format!("nix/app{flake}/flake.nix"),
            "{\n  outputs = { self }: {\n    packages.x86_64-linux.image = derivation { system = \"x86_64-linux\"; name = \"image.tar\"; builder = \"/bin/sh\"; };\n  };\n}\n".to_owned(),
        ));
    }
    files
}
