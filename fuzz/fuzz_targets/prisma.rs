#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gitkeeper::fuzzing::prisma(data));
