#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| acme_delegate_fuzz::names(data));
