#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tuskguard::fuzzing::git_index(data));
