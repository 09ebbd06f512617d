fn main() {
    std::process::exit(tuskguard::cli::run());
}
