//! PDF transformation matrices, in PDF's row-vector convention.

use lopdf::Object;

/// A number operand (integer or real); 0 when missing or not a number.
pub(super) fn num(o: Option<&Object>) -> f32 {
    o.and_then(|o| o.as_float().ok()).unwrap_or(0.0)
}

/// A PDF transformation matrix `[a b c d e f]`.
#[derive(Clone, Copy)]
pub(super) struct Matrix(pub(super) [f32; 6]);

pub(super) const IDENTITY: Matrix = Matrix([1.0, 0.0, 0.0, 1.0, 0.0, 0.0]);

impl Matrix {
    pub(super) fn of(args: &[Object]) -> Matrix {
        let mut m = [0.0; 6];
        for (i, v) in m.iter_mut().enumerate() {
            *v = num(args.get(i));
        }
        Matrix(m)
    }

    pub(super) fn translate(tx: f32, ty: f32) -> Matrix {
        Matrix([1.0, 0.0, 0.0, 1.0, tx, ty])
    }

    /// `self × other`, in PDF's row-vector convention.
    pub(super) fn then(self, other: Matrix) -> Matrix {
        let [a, b, c, d, e, f] = self.0;
        let [a2, b2, c2, d2, e2, f2] = other.0;
        Matrix([
            a * a2 + b * c2,
            a * b2 + b * d2,
            c * a2 + d * c2,
            c * b2 + d * d2,
            e * a2 + f * c2 + e2,
            e * b2 + f * d2 + f2,
        ])
    }
}
