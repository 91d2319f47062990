//! LOLWUT (Redis's lolwut.c, lolwut5.c and lolwut6.c): computer art and the version.
//! 7.0's own answer is the version line; `VERSION 5` draws Georg Nees's "Schotter" in
//! braille characters, `VERSION 6` a city skyline in terminal colours. The art's
//! randomness comes from our own generator, so only the unrandomised parts (the
//! first two rows of Schotter) equal Redis's byte for byte.

use super::{int_arg, is, CmdResult, Ctx};
use crate::resp::Args;
use crate::state::REDIS_VERSION;
use crate::util::rand::Rng;

/// ```text
/// LOLWUT [VERSION version] [version-specific arguments ...]
/// ```
/// The version is written as `<n>.0.0` and picked by its first characters, as Redis
/// does: 5 (or 4.9) draws Schotter, 6 (or 5.9) the skyline, anything else the line.
pub fn lolwut(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut version = REDIS_VERSION.to_string();
    let mut rest: Vec<&[u8]> = args.iter().skip(1).collect();
    if args.len() >= 3 && is(&args[1], "version") {
        let v = int_arg(&args[2])?;
        version = format!("{}.0.0", v as u32);
        rest.drain(..2);
    }
    let v = version.as_bytes();
    let pick = |major: u8, below: u8| {
        v[1] == b'.' && ((v[0] == major && v[2] != b'9') || (v[0] == below && v[2] == b'9'))
    };
    let text = if pick(b'5', b'4') {
        schotter_command(&rest)?
    } else if pick(b'6', b'5') {
        skyline_command(&rest)?
    } else {
        format!("Redis ver. {REDIS_VERSION}\n")
    };
    ctx.out.verbatim("txt", text.as_bytes());
    Ok(())
}

/// The optional integer arguments, each clamped to `lo..=hi`, with defaults.
fn numbers<const N: usize>(
    args: &[&[u8]],
    defaults: [i64; N],
    limits: [(i64, i64); N],
) -> Result<[i64; N], super::CmdError> {
    let mut out = defaults;
    for (i, arg) in args.iter().take(N).enumerate() {
        out[i] = int_arg(arg)?;
    }
    for (value, (lo, hi)) in out.iter_mut().zip(limits) {
        *value = (*value).clamp(lo, hi);
    }
    Ok(out)
}

/// A canvas of pixels (colours 0 to 3).
struct Canvas {
    width: i32,
    height: i32,
    pixels: Vec<u8>,
}

impl Canvas {
    fn new(width: i32, height: i32, color: u8) -> Canvas {
        Canvas {
            width,
            height,
            pixels: vec![color; (width.max(0) as usize) * (height.max(0) as usize)],
        }
    }

    fn draw(&mut self, x: i32, y: i32, color: u8) {
        if (0..self.width).contains(&x) && (0..self.height).contains(&y) {
            self.pixels[(x + y * self.width) as usize] = color;
        }
    }

    fn get(&self, x: i32, y: i32) -> u8 {
        if (0..self.width).contains(&x) && (0..self.height).contains(&y) {
            self.pixels[(x + y * self.width) as usize]
        } else {
            0
        }
    }

    /// Bresenham's line, as `lwDrawLine`.
    fn line(&mut self, mut x1: i32, mut y1: i32, x2: i32, y2: i32, color: u8) {
        let (dx, dy) = ((x2 - x1).abs(), (y2 - y1).abs());
        let (sx, sy) = (if x1 < x2 { 1 } else { -1 }, if y1 < y2 { 1 } else { -1 });
        let mut err = dx - dy;
        loop {
            self.draw(x1, y1, color);
            if x1 == x2 && y1 == y2 {
                break;
            }
            let e2 = err * 2;
            if e2 > -dy {
                err -= dy;
                x1 += sx;
            }
            if e2 < dx {
                err += dx;
                y1 += sy;
            }
        }
    }

    /// A square centred on `x`, `y`, turned by `angle`, as `lwDrawSquare` computes it
    /// (C's float and double steps kept, so the corners land on the same pixels).
    // Redis divides by this literal, not by the exact root of two.
    #[allow(clippy::approx_constant)]
    fn square(&mut self, x: i32, y: i32, size: f32, angle: f32, color: u8) {
        let size = (f64::from(size) / 1.4142135623) as f32;
        let size = f64::from(size).round() as f32;
        let mut k = (std::f64::consts::FRAC_PI_4 + f64::from(angle)) as f32;
        let mut corners = [(0i32, 0i32); 4];
        for corner in &mut corners {
            let kd = f64::from(k);
            *corner = (
                (kd.sin() * f64::from(size) + f64::from(x)).round() as i32,
                (kd.cos() * f64::from(size) + f64::from(y)).round() as i32,
            );
            k = (f64::from(k) + std::f64::consts::FRAC_PI_2) as f32;
        }
        for j in 0..4 {
            let (a, b) = (corners[j], corners[(j + 1) % 4]);
            self.line(a.0, a.1, b.0, b.1, color);
        }
    }
}

/// LOLWUT VERSION 5 [columns [squares-per-row [squares-per-col]]].
fn schotter_command(args: &[&[u8]]) -> Result<String, super::CmdError> {
    let [cols, per_row, per_col] = numbers(args, [66, 8, 12], [(1, 1000), (1, 200), (1, 200)])?;
    let canvas = schotter(
        cols as i32,
        per_row as i32,
        per_col as i32,
        &mut Rng::from_clock(),
    );
    let mut text = braille(&canvas);
    text.push_str("\nGeorg Nees - schotter, plotter on paper, 1968. Redis ver. ");
    text.push_str(REDIS_VERSION);
    text.push('\n');
    Ok(text)
}

/// `lwDrawSchotter`: rows of squares, turned and moved more at random row by row (the
/// first two rows stay straight).
fn schotter(cols: i32, per_row: i32, per_col: i32, rng: &mut Rng) -> Canvas {
    let width = cols * 2;
    let padding = if width > 4 { 2 } else { 0 };
    let side = (width - padding * 2) as f32 / per_row as f32;
    let height = (side * per_col as f32 + (padding * 2) as f32) as i32;
    let mut canvas = Canvas::new(width, height, 0);
    // C's `(float)rand() / RAND_MAX`, and a coin.
    let unit = |rng: &mut Rng| rng.below(1 << 31) as f32 / 2147483647.0;
    for y in 0..per_col {
        for x in 0..per_row {
            let mut sx = (x as f32 * side + side / 2.0 + padding as f32) as i32;
            let mut sy = (y as f32 * side + side / 2.0 + padding as f32) as i32;
            let mut angle = 0.0f32;
            if y > 1 {
                let mut r = [0f32; 3];
                for v in &mut r {
                    *v = unit(rng) / per_col as f32 * y as f32;
                }
                for v in &mut r {
                    if rng.below(2) == 1 {
                        *v = -*v;
                    }
                }
                angle = r[0];
                sx = (sx as f32 + r[1] * side / 3.0) as i32;
                sy = (sy as f32 + r[2] * side / 3.0) as i32;
            }
            canvas.square(sx, sy, side, angle, 1);
        }
    }
    canvas
}

/// Eight pixels (two wide, four tall) to one braille character, as lolwut5.c's
/// `renderCanvas`.
fn braille(canvas: &Canvas) -> String {
    let mut text = String::new();
    let mut y = 0;
    while y < canvas.height {
        let mut x = 0;
        while x < canvas.width {
            let dots = [
                (0, 0),
                (0, 1),
                (0, 2),
                (1, 0),
                (1, 1),
                (1, 2),
                (0, 3),
                (1, 3),
            ];
            let byte = dots.iter().enumerate().fold(0u32, |b, (bit, &(dx, dy))| {
                b | (u32::from(canvas.get(x + dx, y + dy) != 0) << bit)
            });
            text.push(char::from_u32(0x2800 + byte).unwrap_or(' '));
            x += 2;
        }
        if y != canvas.height - 1 {
            text.push('\n');
        }
        y += 4;
    }
    text
}

/// LOLWUT VERSION 6 [columns [rows]].
fn skyline_command(args: &[&[u8]]) -> Result<String, super::CmdError> {
    let [cols, rows] = numbers(args, [80, 20], [(1, 1000), (1, 1000)])?;
    let mut canvas = Canvas::new(cols as i32, rows as i32, 3);
    skyline(&mut canvas, &mut Rng::from_clock());
    let mut text = String::new();
    for y in 0..canvas.height {
        for x in 0..canvas.width {
            let escape = match canvas.get(x, y) {
                1 => "0;90;100m",
                2 => "0;37;47m",
                3 => "0;97;107m",
                _ => "0;30;40m",
            };
            text.push_str(&format!("\x1b[{escape} \x1b[0m"));
        }
        if y != canvas.height - 1 {
            text.push('\n');
        }
    }
    text.push_str("\nDedicated to the 8 bit game developers of past and present.\nOriginal 8 bit image from Plaguemon by hikikomori. Redis ver. ");
    text.push_str(REDIS_VERSION);
    text.push('\n');
    Ok(text)
}

/// A skyscraper of `generateSkyline`: where it starts, its size, whether it has
/// windows, its colour.
struct Skyscraper {
    xoff: i32,
    width: i32,
    height: i32,
    windows: bool,
    color: u8,
}

/// `generateSkyscraper`: a building standing on the bottom row, its roof narrower, its
/// windows (two pixels wide) lit in one of the two greys.
fn skyscraper(canvas: &mut Canvas, s: &Skyscraper, rng: &mut Rng) {
    let start_y = canvas.height - 1;
    let end_y = start_y - s.height + 1;
    let mut y = start_y;
    while y >= end_y {
        for x in s.xoff..s.xoff + s.width {
            if y == end_y && (x <= s.xoff + 1 || x >= s.xoff + s.width - 2) {
                continue;
            }
            let mut color = s.color;
            if s.windows
                && x > s.xoff + 1
                && x < s.xoff + s.width - 2
                && y > end_y + 1
                && y < start_y - 1
            {
                let (rel_x, rel_y) = (x - (s.xoff + 1), y - (end_y + 1));
                if (rel_x / 2) % 2 != 0 && rel_y % 2 != 0 {
                    loop {
                        color = 1 + rng.below(2) as u8;
                        if color != s.color {
                            break;
                        }
                    }
                    if rel_x % 2 != 0 {
                        color = canvas.get(x - 1, y);
                    }
                }
            }
            canvas.draw(x, y, color);
        }
        y -= 1;
    }
}

/// `generateSkyline`: two rows of grey buildings behind, then black ones with windows.
fn skyline(canvas: &mut Canvas, rng: &mut Rng) {
    let height = canvas.height;
    let rand = |rng: &mut Rng, n: i32| rng.below(n.max(1) as u64) as i32;
    for color in [2u8, 1] {
        let mut offset = -10;
        while offset < canvas.width {
            offset += rand(rng, 8);
            let width = 10 + rand(rng, 9);
            // C's `rand() % h / 2`: the remainder, then halved.
            let height = if color == 2 {
                height / 2 + rand(rng, height) / 2
            } else {
                height / 2 + rand(rng, height) / 3
            };
            let s = Skyscraper {
                xoff: offset,
                width,
                height,
                windows: false,
                color,
            };
            skyscraper(canvas, &s, rng);
            offset += if color == 2 { width / 2 } else { width + 1 };
        }
    }
    let mut offset = -10;
    while offset < canvas.width {
        offset += rand(rng, 8);
        let mut width = 5 + rand(rng, 14);
        if width % 4 != 0 {
            width += width % 3;
        }
        let s = Skyscraper {
            xoff: offset,
            width,
            height: height / 3 + rand(rng, height) / 2,
            windows: true,
            color: 0,
        };
        skyscraper(canvas, &s, rng);
        offset += width + 5;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn straight_rows_of_schotter_are_redis_squares() {
        // Two rows: nothing random. Redis 7.0.15's `LOLWUT VERSION 5 10 2 2`.
        let canvas = schotter(10, 2, 2, &mut Rng::new(1));
        assert_eq!(
            braille(&canvas),
            "⠀⡤⠤⠤⠤⡤⠤⠤⠤⡄\n⠀⡇⠀⠀⠀⡇⠀⠀⠀⡇\n⠀⡧⠤⠤⠤⡧⠤⠤⠤⡇\n⠀⡇⠀⠀⠀⡇⠀⠀⠀⡇\n⠀⠧⠤⠤⠤⠧⠤⠤⠤⠇\n"
        );
    }
}
