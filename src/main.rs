fn main() -> std::process::ExitCode {
    starflake::native::cli::main()
}
