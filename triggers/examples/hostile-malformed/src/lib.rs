//! Hostile test component: answers `handle` with bytes that are not a valid
//! `result<pre-sign-up-response, string>` (an out-of-range variant discriminant). It writes the
//! canonical-ABI export by hand; the host must refuse the output.

wit_bindgen::generate!({
    path: "../../wit",
    world: "pre-sign-up",
});

static mut RET: [u8; 16] = [0; 16];

/// The core export `handle` (its arguments arrive through a pointer; its result is returned
/// through a pointer to a return area).
///
/// # Safety
/// Called only by the canonical ABI.
#[unsafe(export_name = "handle")]
pub unsafe extern "C" fn handle(_args: *mut u8) -> *mut u8 {
    // Force the world's type section and the realloc to be linked in.
    __link_custom_section_describing_imports();
    let ret = &raw mut RET;
    unsafe {
        (*ret)[0] = 7; // a `result` has discriminants 0 and 1 only
        ret as *mut u8
    }
}
