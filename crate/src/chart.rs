//! A chart of speed-ups against threads, drawn with plotters for the notebook
//! (feature `charts`).

use plotters::evcxr::SVGWrapper;
use plotters::prelude::*;

/// A line chart of `speed_ups` (threads, speed-up over one thread), with the ideal
/// line beside it: one more core's worth for each thread, up to the machine's cores.
/// It shows as a picture when it ends a notebook cell.
///
/// ```
/// let chart = concurrency_helpers::speed_up_chart("10M points", &[(1, 1.0), (2, 1.9), (4, 2.0)]);
/// assert!(format!("{chart:?}").contains("<svg"));
/// ```
pub fn speed_up_chart(title: &str, speed_ups: &[(usize, f64)]) -> SVGWrapper {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let max_threads = speed_ups.iter().map(|p| p.0).max().unwrap_or(1).max(2);
    let top = speed_ups
        .iter()
        .map(|p| p.1)
        .fold(cores.min(max_threads) as f64, f64::max)
        * 1.15;
    evcxr_figure((640, 360), |root| {
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(44)
            .build_cartesian_2d(0.5..max_threads as f64 + 0.5, 0.0..top)?;
        chart
            .configure_mesh()
            .x_desc("threads")
            .y_desc("speed-up")
            .x_labels(max_threads.min(16))
            .x_label_formatter(&|threads| format!("{threads:.0}"))
            .draw()?;
        let ideal = (1..=max_threads).map(|t| (t as f64, t.min(cores) as f64));
        chart
            .draw_series(LineSeries::new(ideal, BLACK.mix(0.3)))?
            .label(format!("ideal on {cores} cores"))
            .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], BLACK.mix(0.3)));
        let measured: Vec<(f64, f64)> = speed_ups.iter().map(|&(t, s)| (t as f64, s)).collect();
        chart
            .draw_series(LineSeries::new(measured.clone(), BLUE.stroke_width(2)))?
            .label("measured")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], BLUE.stroke_width(2)));
        chart.draw_series(
            measured
                .into_iter()
                .map(|p| Circle::new(p, 4, BLUE.filled())),
        )?;
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK.mix(0.3))
            .draw()?;
        Ok(())
    })
}
