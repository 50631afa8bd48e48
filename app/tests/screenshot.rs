//! Checks the screenshot `.ci/run` takes of the real `tally-app` window under
//! Xvfb (path in `TALLY_SCREENSHOT`): not blank, and the title — six CJK
//! characters, 劳动改造计分 — drawn as six different glyphs. A missing CJK
//! font draws every one of them as the same empty box ("tofu"), so six
//! pairwise different, inked cells can only be real glyphs.
//!
//! Ignored by default (it needs the screenshot); CI runs it with `--ignored`.

use std::path::PathBuf;

struct Image {
    w: usize,
    h: usize,
    rgba: Vec<u8>,
}

impl Image {
    fn read(path: &PathBuf) -> Image {
        let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let decoder = png::Decoder::new(std::io::BufReader::new(file));
        let mut reader = decoder.read_info().expect("a PNG");
        let mut buf = vec![0; reader.output_buffer_size().expect("size")];
        let info = reader.next_frame(&mut buf).expect("a frame");
        assert_eq!(
            info.color_type,
            png::ColorType::Rgba,
            "tally-app writes RGBA"
        );
        buf.truncate(info.buffer_size());
        Image {
            w: info.width as usize,
            h: info.height as usize,
            rgba: buf,
        }
    }

    fn luma(&self, x: usize, y: usize) -> u32 {
        let i = (y * self.w + x) * 4;
        let p = &self.rgba[i..i + 3];
        (p[0] as u32 * 299 + p[1] as u32 * 587 + p[2] as u32 * 114) / 1000
    }
}

#[test]
#[ignore = "needs the screenshot .ci/run takes under Xvfb (TALLY_SCREENSHOT)"]
fn the_app_window_shows_chinese_glyphs_not_tofu() {
    let path = PathBuf::from(std::env::var("TALLY_SCREENSHOT").expect("TALLY_SCREENSHOT"));
    let img = Image::read(&path);
    assert!(img.w >= 800 && img.h >= 600, "{}×{}", img.w, img.h);
    // Not blank: the background is the commonest shade; a real screen of
    // text and widgets has many pixels and many shades besides it.
    let mut hist = [0usize; 256];
    for y in 0..img.h {
        for x in 0..img.w {
            hist[img.luma(x, y) as usize] += 1;
        }
    }
    let (bg, bg_count) = hist
        .iter()
        .enumerate()
        .max_by_key(|(_, c)| **c)
        .map(|(l, c)| (l as u32, *c))
        .expect("pixels");
    let total = img.w * img.h;
    assert!(
        total - bg_count > total / 50,
        "almost blank: {} of {total} pixels differ from the background",
        total - bg_count
    );
    assert!(
        hist.iter().filter(|c| **c > 0).count() > 32,
        "too few shades"
    );
    // The title's rectangle, as the app recorded it.
    let side = path.with_extension("title");
    let rect: Vec<usize> = std::fs::read_to_string(&side)
        .unwrap_or_else(|e| panic!("{}: {e}", side.display()))
        .split_whitespace()
        .map(|v| v.parse::<f64>().expect("a number") as usize)
        .collect();
    let [x0, y0, x1, y1] = rect[..] else {
        panic!("four numbers in {}", side.display())
    };
    assert!(
        x1 > x0 + 24 && y1 > y0 + 8 && x1 <= img.w && y1 <= img.h,
        "{rect:?}"
    );
    // Six full-width characters of equal advance: six equal cells.
    let ink = |x: usize, y: usize| img.luma(x, y).abs_diff(bg) > 60;
    let cw = (x1 - x0) / 6;
    let cells: Vec<Vec<bool>> = (0..6)
        .map(|c| {
            let mut v = Vec::new();
            for y in y0..y1 {
                for x in x0 + c * cw..x0 + (c + 1) * cw {
                    v.push(ink(x, y));
                }
            }
            v
        })
        .collect();
    for (i, c) in cells.iter().enumerate() {
        let n = c.iter().filter(|p| **p).count();
        assert!(
            n > c.len() / 20,
            "character {i} of the title has almost no ink ({n} px)"
        );
    }
    for i in 0..6 {
        for j in i + 1..6 {
            let differ = cells[i]
                .iter()
                .zip(&cells[j])
                .filter(|(a, b)| a != b)
                .count();
            assert!(
                differ > cells[i].len() / 10,
                "characters {i} and {j} of the title look alike ({differ} px differ): tofu?"
            );
        }
    }
}
