#include <iostream>
#include <limits>

#include "adbench/core/error.hpp"
#include "adbench/core/log.hpp"
#include "cli_common.hpp"

namespace adbench::cli {

Action setup_eval(CLI::App& app, const Globals& g) {
  struct Opts {
    std::string dataset = "mvtec_ad", root, category = "all";
    std::string detector, pred, run, config, pred_out, run_out, out, csv, setting;
    DetectorSugar sugar;
    std::vector<std::string> sets;
    std::vector<double> aupro_limits{0.3};
    std::string ap_convention = "step";
    int aupro_bins = 0;
    std::string aupro_convention = "exact";
    bool heatmaps = false, force = false, no_resize = false, curves = false;
    int batch_size = 16;
    std::string frame_norm = "per-video", score_direction = "higher", sample_agg = "max";
    int skip_frames = -1;
  };
  auto o = std::make_shared<Opts>();
  app.add_option("--dataset", o->dataset, "Dataset adapter (adbench list datasets)")->capture_default_str();
  app.add_option("--root", o->root, "Dataset root folder")->required();
  app.add_option("--category", o->category, "A category name, or 'all'")->capture_default_str();
  auto* src = app.add_option_group("source", "What to evaluate (exactly one)");
  src->add_option("--detector", o->detector, "Train and infer this detector in one go");
  src->add_option("--pred", o->pred, "An existing prediction folder (MVTec AD evaluation layout)");
  src->add_option("--run", o->run, "An existing run folder (infer, then evaluate)");
  app.add_option("--config", o->config, "JSON file of detector settings (with --detector)");
  app.add_option("--set", o->sets, "Override one detector setting: KEY=VALUE (repeatable)");
  o->sugar.add_to(app);
  app.add_option("--setting", o->setting,
                 "single-class (default: one model per category) | multi-class (one model trained on every "
                 "category's "
                 "train images, evaluated per category; with --run: the run's)")
      ->check(one_of({"single-class", "multi-class"}));
  app.add_option("--pred-out", o->pred_out, "Also write the prediction folder here");
  app.add_flag("--heatmaps", o->heatmaps, "With --pred-out: also write PNG overlays");
  app.add_option(
      "--run-out", o->run_out,
      "With --detector: also keep the trained models as run folders, RUN/<category> (single-class) "
      "or RUN/all (multi-class), for later 'eval --run' or 'infer'");
  app.add_option("--out", o->out,
                 "Result JSON to write (refused if it exists, unless --force; '-': write it to stdout, the "
                 "table to stderr)");
  app.add_option("--csv", o->csv, "Leaderboard CSV to append one row per category to (header once)");
  app.add_option("--aupro-limits", o->aupro_limits,
                 "FPR limits for AUPRO, each in (0, 1] (default 0.3; e.g. 0.3 0.05 0.01 or 0.3,0.05,0.01)")
      ->expected(1, -1)
      ->delimiter(',')  // each value may be a comma-separated list; split before the check
      ->check(fraction_open_closed());
  app.add_option("--ap-convention", o->ap_convention,
                 "step (exact, scikit-learn average_precision_score) | trapezoid (anomalib's AUPR)")
      ->check(one_of({"step", "trapezoid"}))
      ->capture_default_str();
  app.add_option("--aupro-bins", o->aupro_bins,
                 "0: exact AUPRO; N: ADEval-style N-bin histogram of the scores")
      ->check(integer_in(0, std::numeric_limits<int>::max(), "an integer >= 0 (0: exact AUPRO)"))
      ->capture_default_str();
  app.add_option("--aupro-convention", o->aupro_convention,
                 "exact (every distinct score, integral to the limit / limit) | cflow200 (the CFlow-AD, "
                 "WinCLIP and AnomalyCLIP code: 200 thresholds, FPR below the limit rescaled to [0, 1])")
      ->check(one_of({"exact", "cflow200"}))
      ->capture_default_str();
  app.add_flag("--curves", o->curves,
               "Also store, per category and level, the ROC and PR curves (and the PRO curve behind AUPRO) "
               "down-sampled to at most ~1,000 points with their exact end points, and a 30-bin score "
               "histogram of normal vs anomalous units (image levels); 'adbench report' plots them");
  app.add_flag("--no-resize", o->no_resize,
               "A map whose size differs from its mask is an error instead of being resized");
  app.add_option("--frame-norm", o->frame_norm,
                 "Videos: per-video (min-max of each video's frame scores, the IPAD/INFP protocol) | none")
      ->check(one_of({"per-video", "none"}))
      ->capture_default_str();
  app.add_option("--skip-frames", o->skip_frames,
                 "Videos: frames dropped at the start of each video (default: the detector's input window; "
                 "with --pred: the folder's prediction.json, else 0)")
      ->check(integer_in(0, 1 << 20, "an integer >= 0"));
  app.add_option("--score-direction", o->score_direction,
                 "Videos: higher (scores grow with anomaly) | lower (PSNR-like scores, negated)")
      ->check(one_of({"higher", "lower"}))
      ->capture_default_str();
  app.add_option("--sample-agg", o->sample_agg,
                 "Multi-view samples: the sample score is the max (default) or mean of its views' scores")
      ->check(one_of({"max", "mean"}))
      ->capture_default_str();
  app.add_option("--batch-size", o->batch_size, "Images per batch")
      ->capture_default_str()
      ->check(integer_in(1, std::numeric_limits<int>::max(), "an integer >= 1"));
  app.add_flag("--force", o->force, "Overwrite an existing --out file, --pred-out or --run-out category");
  app.footer(
      "Metrics: image AUROC / AP / F1-max and pixel AUROC / AP / F1-max / AUPRO, exact by default.\n"
      "Prints a table on stdout (values in %); logs and warnings go to stderr.\n"
      "Examples (data/synth from 'adbench synth', runs/vm_cap and preds from the train and infer examples):\n"
      "  adbench eval --detector variation_model --root data/synth --category all --out results/vm.json\n"
      "  adbench eval --pred preds --dataset mvtec_ad --root data/synth --category all \\\n"
      "               --aupro-limits 0.3 0.05 0.01 --csv results/leaderboard.csv\n"
      "  adbench eval --run runs/vm_cap --root data/synth --category cap\n"
      "  adbench eval --detector padim --root data/synth --category all --curves --out results/padim.json\n"
      "  adbench eval --detector padim --root data/synth --category cap --run-out runs/eval  # "
      "runs/eval/cap\n"
      "  adbench report results/padim.json results/vm.json --out report.html  # plots the --curves\n"
      "  adbench eval --detector patchcore --backbone mobilenet_v2 --backbone-weights "
      "mobilenet_v2.safetensors \\\n"
      "               --setting multi-class --root data/synth --category all\n"
      "  adbench eval --pred my_method_maps --dataset mvtec_ad --root /data/mvtec --category bottle\n"
      "With --pred and --category all, categories with no folder in PRED are skipped with a warning.\n"
      "Videos (--dataset ipad | video_folder; categories are scenes): level 'frame' with AUROC / AP /\n"
      "F1-max / EER on per-video min-max scores (first frames without an input window dropped),\n"
      "plus auroc_raw and auroc_macro in the JSON; --pred reads PRED/<scene>/test/<video>.npy:\n"
      "  adbench eval --pred my_scores --dataset ipad --root /data/IPAD --category all --skip-frames 4");
  return [o, &g]() {
    EvalRequest req;
    req.dataset = o->dataset;
    req.root = o->root;
    req.category = o->category;
    std::string detector = o->detector;
    if (!o->config.empty() || !o->sets.empty() || o->sugar.any()) {
      if (!o->pred.empty() || !o->run.empty())
        throw InputError(
            "adbench eval: --config, --set, --backbone, --backbone-weights and --shots apply to --detector "
            "only");
      req.overrides = load_overrides(o->config, o->sets, &detector);
      o->sugar.apply(req.overrides);
    }
    if (!o->setting.empty()) req.setting = o->setting;
    if (!detector.empty()) req.detector = detector;
    if (!o->pred.empty()) req.predictions = o->pred;
    if (!o->run.empty()) req.run = o->run;
    if (!o->pred_out.empty()) req.pred_out = o->pred_out;
    if (!o->run_out.empty()) req.run_out = o->run_out;
    if (o->heatmaps && o->pred_out.empty()) throw InputError("adbench eval: --heatmaps needs --pred-out");
    req.heatmaps = o->heatmaps;
    const bool json_to_stdout = o->out == "-";
    if (!o->out.empty() && !json_to_stdout) req.out = o->out;
    if (!o->csv.empty()) req.csv = o->csv;
    req.force = o->force;
    req.eval.metrics.aupro_limits = o->aupro_limits;
    req.eval.metrics.ap_convention =
        o->ap_convention == "trapezoid" ? metrics::ApConvention::Trapezoid : metrics::ApConvention::Step;
    req.eval.metrics.aupro_bins = o->aupro_bins;
    req.eval.metrics.aupro_convention = o->aupro_convention == "cflow200" ? metrics::AuproConvention::Cflow200
                                                                          : metrics::AuproConvention::Exact;
    req.eval.metrics.keep_curves = o->curves;
    req.eval.resize = !o->no_resize;
    req.eval.frames.per_video_norm = o->frame_norm == "per-video";
    req.eval.frames.lower_is_anomalous = o->score_direction == "lower";
    req.eval.sample_agg = o->sample_agg == "mean" ? SampleAgg::Mean : SampleAgg::Max;
    if (o->skip_frames >= 0) req.eval.frames.skip_frames = o->skip_frames;
    auto common = make_common(g, o->batch_size);
    ResultRecord rec = eval(req, common);
    if (json_to_stdout) {
      std::cerr << rec.table();
      std::cout << rec.to_json().dump(2) << "\n";
    } else {
      std::cout << rec.table();
    }
    if (req.out) spdlog::info("wrote {}", req.out->string());
    if (req.csv) spdlog::info("appended {} row(s) to {}", rec.categories.size(), req.csv->string());
    return 0;
  };
}

}  // namespace adbench::cli
