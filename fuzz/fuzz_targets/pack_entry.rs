#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tuskguard::fuzzing::pack_entry(data));
