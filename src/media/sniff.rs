//! What a clip is, judged by its first bytes, never by its header.

/// How many bytes sniffing needs: MP4 shows in 16, WebM needs a few KiB.
pub const SNIFF_BYTES: usize = 4096;

/// The clip's media type when its bytes are MP4 or WebM.
pub fn video_type(head: &[u8]) -> Option<&'static str> {
    match infer::get(head)?.mime_type() {
        "video/mp4" | "video/quicktime" if is_iso_bmff(head) => Some("video/mp4"),
        "video/webm" => Some("video/webm"),
        "video/x-matroska" => None,
        _ => None,
    }
}

/// ISO base media files start with a box whose type is `ftyp`.
fn is_iso_bmff(head: &[u8]) -> bool {
    head.len() >= 12 && &head[4..8] == b"ftyp"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_real_video_passes() {
        let mut mp4 = vec![0, 0, 0, 0x18];
        mp4.extend_from_slice(b"ftypisom\0\0\x02\0isomiso2avc1mp41");
        assert_eq!(video_type(&mp4), Some("video/mp4"));
        assert_eq!(video_type(b"<html><body>not a video</body></html>"), None);
        assert_eq!(
            video_type(&[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a]),
            None
        );
        assert_eq!(video_type(b""), None);
    }
}
