//! Makes sure the pages' map libraries are in `web/node_modules` before the
//! pages are embedded: a plain `cargo build` on a fresh clone runs `npm ci`.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=web/package-lock.json");
    println!("cargo:rerun-if-changed=web/node_modules/.package-lock.json");
    if Path::new("web/node_modules/leaflet/dist/leaflet.js").exists()
        && Path::new("web/node_modules/swagger-ui-dist/swagger-ui-bundle.js").exists()
    {
        return;
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir("web")
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("`npm ci` in web/ failed ({s}): the pages need their map libraries"),
        Err(e) => {
            panic!("npm is needed to fetch the pages' map libraries into web/node_modules: {e}")
        }
    }
}
