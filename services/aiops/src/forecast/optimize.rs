//! Nelder–Mead simplex minimisation (unconstrained; callers map parameters
//! into their valid ranges). Derivative-free, robust for the 3–5 smoothing
//! parameters we fit, and each evaluation is one cheap pass over the series.

/// Minimises `f` from `start`, with an initial simplex of `scale` along each
/// axis, using at most `max_evals` evaluations. Returns (argmin, min).
pub(crate) fn nelder_mead(
    f: impl Fn(&[f64]) -> f64,
    start: &[f64],
    scale: f64,
    max_evals: usize,
) -> (Vec<f64>, f64) {
    let n = start.len();
    let mut simplex: Vec<(Vec<f64>, f64)> = Vec::with_capacity(n + 1);
    simplex.push((start.to_vec(), f(start)));
    for i in 0..n {
        let mut x = start.to_vec();
        x[i] += scale;
        let fx = f(&x);
        simplex.push((x, fx));
    }
    let mut evals = n + 1;
    let order = |s: &mut Vec<(Vec<f64>, f64)>| s.sort_by(|a, b| a.1.total_cmp(&b.1));
    // x = c + t * (w - c): points on the line through centroid c and worst w.
    let along = |c: &[f64], w: &[f64], t: f64| -> Vec<f64> {
        c.iter().zip(w).map(|(ci, wi)| ci + t * (wi - ci)).collect()
    };

    while evals < max_evals {
        order(&mut simplex);
        let (best, worst) = (simplex[0].1, simplex[n].1);
        if (worst - best).abs() <= 1e-10 * (best.abs() + 1e-30) {
            break;
        }
        let mut centroid = vec![0.0; n];
        for (x, _) in &simplex[..n] {
            centroid
                .iter_mut()
                .zip(x)
                .for_each(|(c, xi)| *c += xi / n as f64);
        }
        let worst_x = simplex[n].0.clone();
        let reflected = along(&centroid, &worst_x, -1.0);
        let fr = f(&reflected);
        evals += 1;
        if fr < best {
            let expanded = along(&centroid, &worst_x, -2.0);
            let fe = f(&expanded);
            evals += 1;
            simplex[n] = if fe < fr {
                (expanded, fe)
            } else {
                (reflected, fr)
            };
        } else if fr < simplex[n - 1].1 {
            simplex[n] = (reflected, fr);
        } else {
            // Contract towards the better of the worst and reflected points.
            let (t, f_ref) = if fr < worst { (-0.5, fr) } else { (0.5, worst) };
            let contracted = along(&centroid, &worst_x, t);
            let fc = f(&contracted);
            evals += 1;
            if fc < f_ref {
                simplex[n] = (contracted, fc);
            } else {
                let best_x = simplex[0].0.clone();
                for (x, fx) in simplex.iter_mut().skip(1) {
                    *x = along(&best_x, x, 0.5);
                    *fx = f(x);
                }
                evals += n;
            }
        }
    }
    order(&mut simplex);
    simplex.swap_remove(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimises_rosenbrock() {
        let rosen = |x: &[f64]| (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2);
        let (x, fx) = nelder_mead(rosen, &[-1.2, 1.0], 0.5, 2_000);
        assert!(fx < 1e-6, "{x:?} {fx}");
        assert!((x[0] - 1.0).abs() < 1e-2 && (x[1] - 1.0).abs() < 1e-2);
    }
}
