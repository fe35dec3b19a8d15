//! The proof of delivery: a PDF in English and Chinese of an order's
//! custody, every inspection with its codes named and its photos, new
//! damage marked, the customer's handover (exceptions and signature) or
//! the customer-not-available record, and the SHA-256 of the record it was
//! made from (the same record always gives the same hash).
//!
//! Text is set in one font that covers both languages, read from the
//! system (Debian's `fonts-wqy-zenhei`, or `VINPATH_PDF_FONT`) and
//! embedded as a subset.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use base64::Engine;
use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect, Size, Transform};
use krilla::image::Image;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::{Font, TextDirection};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::domain::{DamageCodes, OrderState, Stage, utc};
use crate::store::handover::{HandoverRecord, Proved};
use crate::store::inspections::InspectionRecord;

/// Where the font is looked for, first found wins.
const FONTS: [&str; 3] = [
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
];

/// Why no PDF could be made.
#[derive(Debug, thiserror::Error)]
pub enum PodError {
    #[error(
        "no font for the PDF: install fonts-wqy-zenhei, or point VINPATH_PDF_FONT at a TrueType font with Chinese"
    )]
    NoFont,
    #[error("the PDF could not be written: {0}")]
    Write(String),
}

/// The font, read once.
fn font_bytes() -> Option<Arc<Vec<u8>>> {
    static FONT: OnceLock<Option<Arc<Vec<u8>>>> = OnceLock::new();
    FONT.get_or_init(|| {
        let chosen = std::env::var("VINPATH_PDF_FONT").ok();
        chosen
            .iter()
            .map(String::as_str)
            .chain(FONTS)
            .find_map(|p| std::fs::read(p).ok())
            .map(Arc::new)
    })
    .clone()
}

/// Everything a proof of delivery shows.
pub struct PodInput<'a> {
    pub order: &'a OrderState,
    pub inspections: &'a [InspectionRecord],
    /// With its signature.
    pub handover: Option<&'a HandoverRecord>,
    /// Photo thumbnails (JPEG) by photo id.
    pub thumbs: &'a HashMap<String, bytes::Bytes>,
}

impl PodInput<'_> {
    /// The record the PDF is made from, as JSON with its keys sorted.
    pub fn record(&self) -> Value {
        let o = self.order;
        let handover = self.handover.map(|h| {
            let signature = base64::engine::general_purpose::STANDARD
                .decode(&h.signature)
                .unwrap_or_default();
            json!({
                "signed": h.signed,
                "signature_sha256": (!signature.is_empty()).then(|| hex::encode(Sha256::digest(&signature))),
                "proof": h.proved.as_ref().map(|p| match p {
                    Proved::Code { event_id, at } => json!({"kind": "handover", "event_id": event_id, "at": utc(*at)}),
                    Proved::Away(a) => json!({"kind": "customer_not_available", "away": a}),
                }),
            })
        });
        json!({
            "order_id": o.order_id,
            "carrier_id": o.carrier_id,
            "model": o.model,
            "vin": o.vin,
            "destination": o.destination,
            "milestone": o.milestone,
            "delivered_at": o.delivered_at.map(utc),
            "inspections": self.inspections,
            "handover": handover,
        })
    }

    /// The SHA-256 of [`record`](Self::record), hex.
    pub fn digest(&self) -> String {
        hex::encode(Sha256::digest(self.record().to_string()))
    }
}

/// Writes the PDF.
pub fn render(input: &PodInput<'_>) -> Result<Vec<u8>, PodError> {
    let font = font_bytes()
        .and_then(|b| Font::new(b.into(), 0))
        .ok_or(PodError::NoFont)?;
    let mut l = Layout::default();
    content(&mut l, input);
    let mut doc = Document::new();
    let pages = l.pages.len();
    for (n, ops) in l.pages.into_iter().enumerate() {
        let mut page = doc.start_page_with(PageSettings::from_wh(WIDTH, HEIGHT).expect("A4"));
        let mut s = page.surface();
        for op in ops {
            match op {
                Op::Text {
                    x,
                    y,
                    size,
                    text,
                    grey,
                } => {
                    let shade = if grey { 110 } else { 20 };
                    s.set_fill(Some(fill(shade, shade, shade)));
                    s.draw_text(
                        Point::from_xy(x, y),
                        font.clone(),
                        size,
                        &text,
                        false,
                        TextDirection::Auto,
                    );
                }
                Op::Mark { x, y, text } => {
                    s.set_fill(Some(fill(200, 40, 40)));
                    s.draw_text(
                        Point::from_xy(x, y),
                        font.clone(),
                        9.0,
                        &text,
                        false,
                        TextDirection::Auto,
                    );
                }
                Op::Rule { y } => {
                    let mut p = PathBuilder::new();
                    p.move_to(MARGIN, y);
                    p.line_to(WIDTH - MARGIN, y);
                    if let Some(path) = p.finish() {
                        s.set_fill(None);
                        s.set_stroke(Some(Stroke {
                            paint: rgb::Color::new(200, 200, 200).into(),
                            width: 0.6,
                            ..Stroke::default()
                        }));
                        s.draw_path(&path);
                        s.set_stroke(None);
                    }
                }
                Op::Picture { x, y, w, h, image } => {
                    s.push_transform(&Transform::from_translate(x, y));
                    if let Some(size) = Size::from_wh(w, h) {
                        s.draw_image(image, size);
                    }
                    s.pop();
                    let mut p = PathBuilder::new();
                    if let Some(r) = Rect::from_xywh(x, y, w, h) {
                        p.push_rect(r);
                    }
                    if let Some(path) = p.finish() {
                        s.set_fill(None);
                        s.set_stroke(Some(Stroke {
                            paint: rgb::Color::new(180, 180, 180).into(),
                            width: 0.5,
                            ..Stroke::default()
                        }));
                        s.draw_path(&path);
                        s.set_stroke(None);
                    }
                }
            }
        }
        s.set_fill(Some(fill(110, 110, 110)));
        s.draw_text(
            Point::from_xy(MARGIN, HEIGHT - 24.0),
            font.clone(),
            8.0,
            &format!(
                "{} · page {} of {} · 第{}页，共{}页",
                input.order.order_id,
                n + 1,
                pages,
                n + 1,
                pages
            ),
            false,
            TextDirection::Auto,
        );
        s.finish();
        page.finish();
    }
    doc.finish().map_err(|e| PodError::Write(format!("{e:?}")))
}

fn fill(r: u8, g: u8, b: u8) -> Fill {
    Fill {
        paint: rgb::Color::new(r, g, b).into(),
        opacity: NormalizedF32::ONE,
        rule: Default::default(),
    }
}

/// A4 in points, and its margins.
const WIDTH: f32 = 595.0;
const HEIGHT: f32 = 842.0;
const MARGIN: f32 = 42.0;
const BOTTOM: f32 = HEIGHT - 48.0;

enum Op {
    Text {
        x: f32,
        y: f32,
        size: f32,
        text: String,
        grey: bool,
    },
    /// A red mark (new damage).
    Mark {
        x: f32,
        y: f32,
        text: String,
    },
    Rule {
        y: f32,
    },
    Picture {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        image: Image,
    },
}

/// Pages of drawing, laid out top to bottom.
struct Layout {
    pages: Vec<Vec<Op>>,
    y: f32,
}

impl Default for Layout {
    fn default() -> Self {
        Self {
            pages: vec![Vec::new()],
            y: MARGIN,
        }
    }
}

impl Layout {
    fn page(&mut self) -> &mut Vec<Op> {
        self.pages.last_mut().expect("a page")
    }

    /// Room for `h` more points, on a new page if need be.
    fn room(&mut self, h: f32) {
        if self.y + h > BOTTOM {
            self.pages.push(Vec::new());
            self.y = MARGIN;
        }
    }

    /// A line of text (wrapped to the page), then the next line.
    fn line(&mut self, size: f32, text: &str) {
        self.text_at(MARGIN, size, text, false);
    }

    fn grey(&mut self, size: f32, text: &str) {
        self.text_at(MARGIN, size, text, true);
    }

    fn text_at(&mut self, x: f32, size: f32, text: &str, grey: bool) {
        for part in wrap(text, size, WIDTH - MARGIN - x) {
            self.room(size * 1.5);
            self.y += size * 1.25;
            let y = self.y;
            self.page().push(Op::Text {
                x,
                y,
                size,
                text: part,
                grey,
            });
            self.y += size * 0.25;
        }
    }

    /// A label and its value on one line.
    fn field(&mut self, label: &str, value: &str) {
        self.room(16.0);
        self.y += 12.0;
        let y = self.y;
        self.page().push(Op::Text {
            x: MARGIN,
            y,
            size: 9.0,
            text: label.to_owned(),
            grey: true,
        });
        self.y -= 12.0;
        self.text_at(MARGIN + 150.0, 10.0, value, false);
    }

    fn rule(&mut self) {
        self.room(12.0);
        self.y += 8.0;
        let y = self.y;
        self.page().push(Op::Rule { y });
        self.y += 4.0;
    }

    fn gap(&mut self, h: f32) {
        self.y += h;
    }
}

/// Splits text into lines that fit `width` at `size` (Chinese characters
/// a full em wide, others about half).
fn wrap(text: &str, size: f32, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        let mut w = 0.0;
        for c in para.chars() {
            let cw = if c.is_ascii() { 0.55 } else { 1.0 } * size;
            if w + cw > width && !line.is_empty() {
                lines.push(std::mem::take(&mut line));
                w = 0.0;
            }
            line.push(c);
            w += cw;
        }
        lines.push(line);
    }
    lines
}

fn stage_words(s: Stage) -> &'static str {
    match s {
        Stage::Pickup => "Pickup at the plant · 提车",
        Stage::GateIn => "Into the warehouse · 入库",
        Stage::GateOut => "Out of the warehouse · 出库",
        Stage::Delivery => "At the customer's door · 交付",
    }
}

/// A time as read in China (UTC+8), to the second.
fn china(t: chrono::DateTime<chrono::Utc>) -> String {
    let east8 = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8");
    format!(
        "{} (UTC+8)",
        t.with_timezone(&east8).format("%Y-%m-%d %H:%M:%S")
    )
}

/// An RFC 3339 time as read in China; as written when it does not parse.
fn china_text(t: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(t)
        .map(|t| china(t.with_timezone(&chrono::Utc)))
        .unwrap_or_else(|_| t.to_owned())
}

fn place(lat: Option<f64>, lon: Option<f64>) -> String {
    match (lat, lon) {
        (Some(a), Some(o)) => format!("{a:.5}, {o:.5}"),
        _ => "—".into(),
    }
}

fn content(l: &mut Layout, input: &PodInput<'_>) {
    let o = input.order;
    l.line(18.0, "Proof of delivery · 交付证明");
    l.gap(4.0);
    l.field("Order · 订单", o.order_id.as_str());
    l.field("Model · 车型", &o.model);
    l.field(
        "VIN · 车架号",
        o.vin.as_ref().map(|v| v.as_str()).unwrap_or("—"),
    );
    l.field("Carrier · 承运商", o.carrier_id.as_str());
    let dest = [
        o.destination.name.as_deref(),
        o.destination.address.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ");
    l.field(
        "Destination · 目的地",
        &format!(
            "{} ({})",
            if dest.is_empty() { "—" } else { &dest },
            place(Some(o.destination.lat), Some(o.destination.lon))
        ),
    );
    l.field(
        "Delivered · 交付时间",
        &o.delivered_at
            .map(china)
            .unwrap_or_else(|| format!("not yet ({}) · 尚未交付", o.milestone.as_str())),
    );
    handover(l, input);
    let codes = DamageCodes::get();
    for (n, r) in input.inspections.iter().enumerate() {
        let i = &r.inspection;
        // A stage's heading starts a page rather than end one.
        l.room(160.0);
        l.rule();
        l.line(13.0, stage_words(i.stage));
        l.field("Inspection · 检查编号", &i.inspection_id);
        l.field(
            "Time · 时间",
            &i.at().map(china).unwrap_or_else(|| i.at.clone()),
        );
        l.field("Place · 地点", &place(i.lat, i.lon));
        l.field("Inspector · 检查人", &i.inspector);
        let num = |v: Option<f64>, unit: &str| {
            v.map(|v| format!("{v}{unit}"))
                .unwrap_or_else(|| "—".into())
        };
        l.field("Odometer · 里程", &num(i.odometer_km, " km"));
        l.field("Battery · 电量", &num(i.battery_soc_pct, " %"));
        l.field(
            "Keys · 钥匙",
            &i.keys.map(|k| k.to_string()).unwrap_or_else(|| "—".into()),
        );
        if !i.items.is_empty() {
            l.field("Items · 随车物品", &i.items.join(", "));
        }
        if i.damages.is_empty() {
            l.field("Damage · 损伤", "none · 无");
        }
        for d in &i.damages {
            let name = |c: Option<&crate::domain::DamageCode>| {
                c.map(|c| (c.name.clone(), c.name_zh.clone()))
                    .unwrap_or_default()
            };
            let (a, k, s) = (
                name(codes.area(&d.area)),
                name(codes.kind(&d.kind)),
                name(codes.severity(&d.severity)),
            );
            let is_new = n > 0 && r.new_damages.contains(d);
            l.room(30.0);
            let top = l.y;
            if is_new {
                l.page().push(Op::Mark {
                    x: MARGIN,
                    y: top + 25.0,
                    text: "NEW since the last check · 新增".into(),
                });
            }
            l.field(
                &format!("Damage {}-{}-{} · 损伤", d.area, d.kind, d.severity),
                &format!(
                    "{}: {}, {} · {}：{}，{}{}",
                    a.0,
                    k.0,
                    s.0,
                    a.1,
                    k.1,
                    s.1,
                    if d.note.is_empty() {
                        String::new()
                    } else {
                        format!(" — {}", d.note)
                    }
                ),
            );
            if is_new && l.y < top + 30.0 {
                l.y = top + 30.0;
            }
        }
        let photos: Vec<(&str, &str)> = i
            .photos
            .iter()
            .map(|p| (p.view.as_str(), p.photo_id.as_str()))
            .collect();
        thumbnails(l, &photos, input.thumbs);
    }
    l.rule();
    l.grey(
        8.0,
        "SHA-256 of the record this document was made from · 本文件所据记录的SHA-256：",
    );
    l.line(8.0, &input.digest());
}

fn handover(l: &mut Layout, input: &PodInput<'_>) {
    l.rule();
    l.line(13.0, "Handover · 交接");
    let Some(h) = input.handover else {
        l.grey(10.0, "Not signed · 未签收");
        return;
    };
    match &h.proved {
        Some(Proved::Code { at, .. }) => l.field(
            "Proved by · 交付凭证",
            &format!("the customer's code, at {} · 客户交付码", china(*at)),
        ),
        Some(Proved::Away(a)) => {
            l.field(
                "Proved by · 交付凭证",
                &format!(
                    "customer not available, at {} ({}) · 客户不在场",
                    china_text(&a.at),
                    a.position
                        .map(|p| place(Some(p[0]), Some(p[1])))
                        .unwrap_or_else(|| "—".into())
                ),
            );
            let photos: Vec<(&str, &str)> =
                a.photo_ids.iter().map(|p| ("left", p.as_str())).collect();
            thumbnails(l, &photos, input.thumbs);
        }
        None => l.field("Proved by · 交付凭证", "not yet · 尚未交付"),
    }
    // A signature belongs to the delivery its code proved (not a later
    // one with nobody home).
    let Some(s) = h
        .signed
        .as_ref()
        .filter(|_| !matches!(h.proved, Some(Proved::Away(_))))
    else {
        return;
    };
    l.field("Signed by · 签收人", &s.signer_name);
    l.field("Signed at · 签收时间", &china_text(&s.at));
    l.field(
        "Accepted · 验收",
        if s.accepted {
            "yes · 接收"
        } else {
            "no · 拒收"
        },
    );
    l.field(
        "Exceptions · 异议",
        if s.exceptions.is_empty() {
            "none · 无"
        } else {
            &s.exceptions
        },
    );
    let png = base64::engine::general_purpose::STANDARD
        .decode(&h.signature)
        .unwrap_or_default();
    if let Ok(image) = Image::from_png(png.into(), true) {
        let (w, h) = fit(image.size(), 220.0, 90.0);
        l.room(h + 24.0);
        l.grey(9.0, "Signature · 签名");
        l.gap(4.0);
        let (x, y) = (MARGIN, l.y);
        l.page().push(Op::Picture { x, y, w, h, image });
        l.gap(h + 6.0);
    }
}

/// A row of photo thumbnails, each with its view under it.
fn thumbnails(l: &mut Layout, photos: &[(&str, &str)], thumbs: &HashMap<String, bytes::Bytes>) {
    const W: f32 = 118.0;
    const H: f32 = 88.0;
    let per_row = ((WIDTH - 2.0 * MARGIN) / (W + 8.0)) as usize;
    for row in photos.chunks(per_row.max(1)) {
        l.room(H + 24.0);
        l.gap(6.0);
        let top = l.y;
        for (k, (view, id)) in row.iter().enumerate() {
            let x = MARGIN + k as f32 * (W + 8.0);
            let Some(image) = thumbs
                .get(*id)
                .and_then(|b| Image::from_jpeg(b.to_vec().into(), true).ok())
            else {
                continue;
            };
            let (w, h) = fit(image.size(), W, H);
            l.page().push(Op::Picture {
                x,
                y: top,
                w,
                h,
                image,
            });
            l.page().push(Op::Text {
                x,
                y: top + H + 10.0,
                size: 8.0,
                text: (*view).to_owned(),
                grey: true,
            });
        }
        l.y = top + H + 14.0;
    }
}

/// An image's size scaled to fit a box.
fn fit((w, h): (u32, u32), max_w: f32, max_h: f32) -> (f32, f32) {
    let (w, h) = (w.max(1) as f32, h.max(1) as f32);
    let k = (max_w / w).min(max_h / h);
    (w * k, h * k)
}
