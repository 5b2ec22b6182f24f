#include "adbench/bench/pipeline.hpp"

#include <ATen/Parallel.h>

#include <adbench/build_info.hpp>
#include <chrono>
#include <cmath>
#include <fstream>
#include <functional>

#include "adbench/core/device.hpp"
#include "adbench/core/error.hpp"
#include "adbench/core/fs.hpp"
#include "adbench/core/image_io.hpp"
#include "adbench/core/interrupt.hpp"
#include "adbench/core/log.hpp"
#include "adbench/core/path_util.hpp"
#include "adbench/core/progress.hpp"
#include "adbench/core/safetensors.hpp"
#include "adbench/core/sha256.hpp"
#include "adbench/core/stage_times.hpp"
#include "adbench/core/system_info.hpp"
#include "adbench/detectors/per_view.hpp"
#include "adbench/formats/json_fields.hpp"

namespace fs = std::filesystem;

namespace adbench {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

void warn(std::vector<std::string>& sink, const std::string& msg) {
  spdlog::warn("{}", msg);
  sink.push_back(msg);
}

CategoryData load_category(const std::string& dataset, const fs::path& root, const std::string& category,
                           const DatasetOptions& options) {
  return make_dataset_adapter(dataset, options)->load(root, category);
}

std::vector<std::string> resolve_categories(const std::string& dataset, const fs::path& root,
                                            const std::string& category, const DatasetOptions& options) {
  auto adapter = make_dataset_adapter(dataset, options);  // also checks --split
  if (category != "all") return {category};
  return adapter->categories(root);
}

/// Relative weight files (every `*_weights` setting) made absolute against `base` ("none" and ""
/// unchanged), so that run.json and results name the file the same from any working directory. The
/// command line's paths are relative to the working directory; run.json's (written absolute by adbench,
/// or edited by hand after moving a run with its weights) to the run folder.
nlohmann::json with_absolute_weights(const nlohmann::json& settings, const fs::path& base) {
  if (!settings.is_object()) return settings;
  nlohmann::json out = settings;
  for (const auto& [k, w] : settings.items()) {
    if (!names_weights_file(k, w)) continue;  // merge_config reports a value of the wrong type
    const std::string file = w.get<std::string>();
    if (fs::path(file).is_absolute()) continue;
    out[k] = fs::absolute(base / file).lexically_normal().string();  // base "": the working dir
  }
  return out;
}

/// The detector `name` for data of modality `holds`: an image detector on multi-view data runs on
/// each view (PerViewDetector, with its per_view_banks setting); any other detector as registered.
std::unique_ptr<Detector> make_detector_for(const std::string& name, const nlohmann::json& settings,
                                            Modality holds) {
  if (holds == Modality::MultiView && detector_modality(name) == Modality::Image)
    return make_per_view_detector(name, settings);
  return detector_registry().create(name, settings);
}

constexpr const char* kNoMultiViewHeatmaps = "--heatmaps: not written for multi-view datasets yet";

/// Multi-view categories: the folder the views' image_paths are relative to; empty otherwise.
fs::path views_dir(const CategoryData& data) {
  return data.modality == Modality::MultiView ? data.root / data.category : fs::path();
}

/// What the dataset holds with these options (real_iad: images with --split single-view).
Modality dataset_modality(const std::string& dataset, const DatasetOptions& options) {
  return make_dataset_adapter(dataset, options)->modality();
}

std::unique_ptr<Detector> make_detector(const std::string& name, const nlohmann::json& overrides,
                                        const std::string& dataset, const DatasetOptions& options) {
  return make_detector_for(name, with_absolute_weights(overrides, fs::path()),
                           dataset_modality(dataset, options));
}

/// Multi-class protocol: one CategoryData whose training set is the union of every category's
/// train images (in category order); its test set is the first category's (unused).
CategoryData load_union(const std::string& dataset, const fs::path& root, const DatasetOptions& options) {
  CategoryData all;
  for (const auto& c : resolve_categories(dataset, root, "all", options)) {
    CategoryData d = load_category(dataset, root, c, options);
    if (all.category.empty())
      all = d;
    else
      all.train.insert(all.train.end(), d.train.begin(), d.train.end());
  }
  all.category = "all";
  return all;
}

/// Weight files named by a detector config (every `*_weights` setting; "" and "none" name no file).
void protect_weights(const nlohmann::json& config) {
  if (!config.is_object()) return;
  for (const auto& [k, w] : config.items())
    if (names_weights_file(k, w))
      protect_input(w.get<std::string>(),
                    k == "backbone_weights" ? "the backbone weights file" : "the " + k + " file");
}

/// What produced PRED/<category> when adbench wrote it: the "produced_by" record of its
/// prediction.json. nullopt for folders of other tools; a prediction.json that cannot be read adds a
/// warning and gives nullopt.
std::optional<Provenance> prediction_origin(const fs::path& category_dir, const std::string& category,
                                            std::vector<std::string>& warnings) {
  const fs::path file = category_dir / "prediction.json";
  if (!is_file(file)) return std::nullopt;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(file));
  } catch (const nlohmann::json::exception&) {
    warn(warnings, "category " + category + ": " + file.string() +
                       " is not valid JSON; the CSV row's detector columns are left empty");
    return std::nullopt;
  }
  if (!j.is_object() || !j.contains("produced_by") || !j["produced_by"].is_object()) return std::nullopt;
  return Provenance::from_json(j["produced_by"]);
}

void fit_checked(Detector& det, const CategoryData& data, const CommonOptions& common,
                 const fs::path& checkpoint_dir = {}, bool resume = false) {
  if (data.train.empty() && data.category == "all")
    throw_file_error(data.root, "no training images in any category");
  if (data.train.empty())
    throw_file_error(data.root / data.category / "train",
                     "no training images for category '" + data.category + "'");
  RunContext ctx{common.device, common.batch_size, common.seed};
  ctx.checkpoint_dir = checkpoint_dir;
  ctx.resume = resume;
  at::manual_seed(static_cast<uint64_t>(common.seed));
  det.fit(data.train, ctx);
}

BatchPredictor detector_predictor(Detector& det, const CommonOptions& common) {
  return [&det, ctx = RunContext{common.device, common.batch_size, common.seed}](
             const std::vector<Sample>& batch) { return det.predict(batch, ctx); };
}

RunContext run_context(const CommonOptions& common) {
  RunContext ctx;
  ctx.device = common.device;
  ctx.batch_size = common.batch_size;
  ctx.seed = common.seed;
  return ctx;
}

VideoPredictor detector_video_predictor(Detector& det, const CommonOptions& common) {
  VideoPredictor vp;
  vp.context_frames = det.context_frames();
  vp.predict = [&det, common](const Sample& video, bool want_maps, const UnitSink& sink) {
    RunContext ctx = run_context(common);
    ctx.want_maps = want_maps;
    det.predict_units(video, ctx, sink);
  };
  return vp;
}

VideoPredictor reader_video_predictor(const VideoPredictionReader& reader, const std::vector<Sample>& test) {
  VideoPredictor vp;
  vp.context_frames = reader.skip_frames().value_or(0);
  vp.maps = !test.empty();
  for (const auto& v : test) vp.maps = vp.maps && reader.has_maps(v);
  vp.source_name = [&reader](const Sample& video) { return reader.score_file(video).string(); };
  vp.predict = [&reader](const Sample& video, bool want_maps, const UnitSink& sink) {
    const std::vector<double>& scores = reader.scores(video);
    const bool maps = want_maps && reader.has_maps(video);
    for (std::size_t i = 0; i < scores.size(); ++i) {
      UnitOutput out;
      out.score = scores[i];
      if (maps && std::isfinite(scores[i])) out.map = reader.map(video, i);
      sink(i, std::move(out));
    }
  };
  return vp;
}

/// prediction.json of a folder written here.
nlohmann::json prediction_info(const CommonOptions& common, const std::string& dataset, const fs::path& root,
                               const std::string& category) {
  return {{"adbench_version", build::kVersion},
          {"git_commit", build::kGitCommit},
          {"created_utc", utc_timestamp()},
          {"command", common.command_line},
          {"dataset", dataset},
          {"root", fs::absolute(root).lexically_normal().string()},
          {"category", category},
          {"device", device_string(common.device)}};
}

}  // namespace

// ---------------------------------------------------------------------------------------------

Provenance make_provenance(const Detector& det, const CommonOptions& common) {
  Provenance p;
  p.adbench_version = build::kVersion;
  p.git_commit = build::kGitCommit;
  p.libtorch = build::kTorchVersion;
  p.cuda = build::kCudaVersion;
  p.device = device_string(common.device);
  p.device_name = device_description(common.device);
  p.detector = det.name();
  p.config = det.config();
  p.spec = detector_spec(p.detector, p.config);
  const nlohmann::json prov = det.provenance();
  auto text = [&prov](const char* k) {
    return prov.is_object() && prov.contains(k) && prov[k].is_string() ? prov[k].get<std::string>()
                                                                       : std::string();
  };
  p.backbone = text("backbone");
  p.weights = text("weights");
  p.weights_sha256 = text("weights_sha256");
  // Other weight files (a setting `<name>_weights` whose provenance gives `<name>_weights_sha256`).
  if (p.config.is_object())
    for (const auto& [k, v] : p.config.items())
      if (k != "backbone_weights" && is_weights_setting(k) && !text((k + "_sha256").c_str()).empty())
        p.other_weights[k] = {{"file", text(k.c_str())}, {"sha256", text((k + "_sha256").c_str())}};
  p.config_sha256 = config_sha256(p.config, p.weights_sha256, p.other_weights);
  p.seed = common.seed;
  return p;
}

void check_modality(const std::string& detector, const std::string& dataset, const DatasetOptions& options) {
  register_builtin_detectors();
  const Modality takes = detector_modality(detector);
  const Modality holds = dataset_modality(dataset, options);
  if (takes == holds) return;
  if (takes == Modality::Image && holds == Modality::MultiView) return;  // per view (PerViewDetector)
  std::string fits;
  for (const auto& name : detector_registry().names()) {
    const Modality m = detector_modality(name);
    if (m == holds || (m == Modality::Image && holds == Modality::MultiView))
      fits += (fits.empty() ? "" : ", ") + name;
  }
  throw InputError("detector '" + detector + "' takes " + plural_noun(takes) + "; dataset '" + dataset +
                   "' holds " + plural_noun(holds) +
                   (fits.empty() ? " (no detector takes " + plural_noun(holds) + " yet)"
                                 : " (detectors for " + plural_noun(holds) + ": " + fits + ")"));
}

void check_setting(const std::string& setting) {
  if (setting != "single-class" && setting != "multi-class")
    throw InputError("--setting: expected single-class or multi-class, got '" + setting + "'");
}

/// run.json of a detector just trained (train, eval --run-out).
nlohmann::json run_info(const Detector& det, const CommonOptions& common, const std::string& dataset,
                        const fs::path& root, const std::string& category, const std::string& setting,
                        std::size_t train_count, double train_seconds) {
  return {{"format", kRunFormat},
          {"adbench_version", build::kVersion},
          {"git_commit", build::kGitCommit},
          {"libtorch", build::kTorchVersion},
          {"created_utc", utc_timestamp()},
          {"command", common.command_line},
          {"detector", det.name()},
          {"paths", "absolute"},
          {"config", det.config()},
          {"provenance", det.provenance()},
          {"dataset", dataset},
          {"split", common.dataset.split},
          {"root", fs::absolute(root).lexically_normal().string()},
          {"category", category},
          {"setting", setting},
          {"train_count", train_count},
          {"seed", common.seed},
          {"device", device_string(common.device)},
          {"train_seconds", train_seconds},
          {"produced_by", make_provenance(det, common).to_json()}};
}

/// Writes RUN/model.safetensors and RUN/run.json into the staging folder and renames it to RUN.
void write_run_folder(StagingDir& staging, const Detector& det, const nlohmann::json& info) {
  WriteScope scope;  // an interrupt waits for these two files, then removes the staging folder
  write_safetensors(staging.path() / "model.safetensors", det.state(),
                    {{"detector", det.name()}, {"adbench_version", build::kVersion}});
  write_file_atomic(staging.path() / "run.json", info.dump(2) + "\n");
  staging.commit();
}

nlohmann::json train(const TrainRequest& req, const CommonOptions& common) {
  auto t0 = Clock::now();
  check_setting(req.setting);
  const bool multi = req.setting == "multi-class";
  if (multi && req.category != "all")
    throw InputError(
        "adbench train: --setting multi-class trains one model on every category: use --category all");
  if (!multi && req.category == "all")
    throw InputError(
        "adbench train: --category all needs --setting multi-class (single-class trains one category per "
        "run)");
  protect_input(req.root, "the dataset root");
  protect_weights(req.overrides);
  check_modality(req.detector, req.dataset, common.dataset);
  StagingDir staging(req.out, OutputKind::RunFolder, req.force);
  CategoryData data = multi ? load_union(req.dataset, req.root, common.dataset)
                            : load_category(req.dataset, req.root, req.category, common.dataset);
  auto det = make_detector(req.detector, req.overrides, req.dataset, common.dataset);
  if (!req.checkpoint_dir.empty()) {
    // Not the run folder, nor inside or around it: the run folder is staged and renamed at the end.
    std::error_code ec;
    const fs::path ck = fs::weakly_canonical(fs::absolute(req.checkpoint_dir), ec),
                   out = fs::weakly_canonical(fs::absolute(req.out), ec);
    auto inside = [](const fs::path& a, const fs::path& b) {  // a == b or a inside b
      auto i = a.begin();
      for (auto o = b.begin(); o != b.end(); ++o, ++i)
        if (i == a.end() || *i != *o) return false;
      return true;
    };
    if (inside(ck, out) || inside(out, ck))
      throw_file_error(req.checkpoint_dir,
                       "--checkpoint-dir may not be the run folder (--out), lie inside it or "
                       "contain it");
    open_checkpoint_folder(req.checkpoint_dir, req.resume, req.force);
  } else if (req.resume) {
    throw InputError(
        "adbench train: --resume needs --checkpoint-dir (the folder of the checkpoints to continue)");
  }
  try {
    fit_checked(*det, data, common, req.checkpoint_dir, req.resume);
  } catch (...) {
    // A new checkpoint folder that holds no checkpoint yet (bad input found while training) is
    // removed: a failed command leaves nothing behind. One with checkpoints stays for --resume.
    if (!req.checkpoint_dir.empty() && !req.resume) {
      std::error_code ec;
      bool empty = true;
      for (const auto& e : fs::directory_iterator(req.checkpoint_dir, ec))
        if (e.path().filename() != kMarkerFile) empty = false;
      if (!ec && empty) fs::remove_all(req.checkpoint_dir, ec);
    }
    throw;
  }
  nlohmann::json info = run_info(*det, common, req.dataset, req.root, req.category, req.setting,
                                 data.train.size(), seconds_since(t0));
  write_run_folder(staging, *det, info);
  return info;
}

/// What a run's training data held: its dataset with the run's --split (run.json "split").
Modality run_modality(const std::string& dataset, const nlohmann::json& info) {
  DatasetOptions o;
  if (info.contains("split") && info["split"].is_string()) o.split = info["split"].get<std::string>();
  try {
    return dataset_modality(dataset, o);
  } catch (const InputError&) {
    return Modality::Image;  // an unknown split: load_state reports what does not fit
  }
}

LoadedRun load_run(const fs::path& run) {
  std::error_code ec;
  if (!is_dir(run)) throw_file_error(run, "no such run folder");
  fs::path info_path = run / "run.json";
  if (!fs::exists(info_path, ec)) throw_file_error(info_path, "missing: not an adbench run folder");
  // Syntax and the type of every key read below are checked here: errors name the file and the key.
  nlohmann::json info = formats::parse_run_json(read_file(info_path), info_path.string());
  if (info.value("format", "") != kRunFormat)
    throw_file_error(info_path,
                     "run format '" + excerpt(info.value("format", "")) + "' is not " + kRunFormat);
  std::string version = info.value("adbench_version", "");
  if (version != build::kVersion)
    throw_file_error(info_path, "written by adbench " + excerpt(version) + ", this is adbench " +
                                    build::kVersion + "; retrain with this version");
  std::string det_name = info.value("detector", "");
  if (!detector_registry().contains(det_name))
    throw_file_error(info_path, "unknown detector '" + excerpt(det_name) + "'");
  // The model's own detector name first: a mismatch would otherwise surface as a config error.
  SafeTensors st = read_safetensors(run / "model.safetensors");
  auto meta = st.metadata.find("detector");
  if (meta != st.metadata.end() && meta->second != det_name)
    throw_file_error(run / "model.safetensors",
                     "holds a '" + meta->second + "' model, run.json says '" + det_name + "'");
  LoadedRun out;
  const std::string trained_on = info.value("dataset", "");
  out.detector = make_detector_for(
      det_name, with_absolute_weights(info.value("config", nlohmann::json::object()), run),
      dataset_registry().contains(trained_on) ? run_modality(trained_on, info) : Modality::Image);
  try {
    out.detector->load_state(st.tensors);
  } catch (const InputError& e) {
    throw_file_error(run / "model.safetensors", e.what());
  }
  // Backbone detectors: the weights must be the ones the run was trained with.
  const auto& trained = info.contains("provenance") ? info["provenance"] : nlohmann::json();
  if (trained.is_object() && trained.contains("weights_sha256") && trained["weights_sha256"].is_string()) {
    nlohmann::json now = out.detector->provenance();
    std::string sha = now.is_object() ? now.value("weights_sha256", std::string()) : std::string();
    if (sha != trained["weights_sha256"].get<std::string>())
      throw_file_error(info_path,
                       "trained with backbone weights " + trained.value("weights", std::string("?")) +
                           " (sha256 " + trained["weights_sha256"].get<std::string>() +
                           "), but the weights file now has sha256 " + (sha.empty() ? "(none)" : sha));
  }
  out.info = std::move(info);
  return out;
}

std::size_t infer(const InferRequest& req, const CommonOptions& common) {
  protect_input(req.run, "the run folder being read");
  LoadedRun run = load_run(req.run);
  protect_weights(run.detector->config());
  std::string dataset = req.dataset.value_or(run.info.value("dataset", ""));
  fs::path root = req.root.value_or(fs::path(run.info.value("root", "")));
  protect_input(root, "the dataset root");
  std::string category = req.category.value_or(run.info.value("category", ""));
  check_modality(run.detector->name(), dataset, common.dataset);
  if (req.heatmaps && dataset_modality(dataset, common.dataset) == Modality::MultiView)
    throw InputError(kNoMultiViewHeatmaps);
  const auto categories = resolve_categories(dataset, root, category, common.dataset);
  for (const auto& c : categories) check_output(req.out / c, OutputKind::PredictionFolder, req.force);
  auto predict = detector_predictor(*run.detector, common);
  std::size_t written = 0;
  for (const auto& cat : categories) {
    CategoryData data = load_category(dataset, root, cat, common.dataset);
    if (data.modality == Modality::Video) {
      // Videos stream frame by frame into the writer; nothing is evaluated.
      VideoPredictionWriter writer(req.out, cat, req.heatmaps, req.force);
      auto t0 = Clock::now();
      RunContext ctx = run_context(common);
      Progress progress("infer " + cat, static_cast<int64_t>(data.test.size()));
      for (const Sample& video : data.test) {
        std::vector<double> scores(video.units.size(), std::nan(""));
        run.detector->predict_units(video, ctx, [&](std::size_t i, UnitOutput&& out) {
          scores.at(i) = out.score;
          writer.add_frame(video, i, out);
        });
        writer.end_video(video, scores);
        progress.tick();
      }
      progress.done();
      nlohmann::json prov = prediction_info(common, dataset, root, cat);
      prov["run"] = fs::absolute(req.run).lexically_normal().string();
      prov["detector"] = run.info["detector"];
      prov["config"] = run.info["config"];
      prov["infer_seconds"] = seconds_since(t0);
      prov["produced_by"] = make_provenance(*run.detector, common).to_json();
      writer.commit(prov, run.detector->context_frames());
      written += data.test.size();
      continue;
    }
    PredictionWriter writer(req.out, cat, req.heatmaps, req.force, views_dir(data));
    auto t0 = Clock::now();
    stage_times::reset();
    predict_all(data.test, predict, common, "infer " + cat,
                [&writer](const Sample& s, Prediction& p) { writer.add(s, p); });
    nlohmann::json stages = nlohmann::json::object();
    for (const auto& [name, sec] : stage_times::snapshot()) stages[name] = sec;
    if (!stages.empty()) spdlog::info("infer {}: {}", cat, stage_times::summary());
    nlohmann::json prov = {{"adbench_version", build::kVersion},
                           {"git_commit", build::kGitCommit},
                           {"created_utc", utc_timestamp()},
                           {"command", common.command_line},
                           {"run", fs::absolute(req.run).lexically_normal().string()},
                           {"detector", run.info["detector"]},
                           {"config", run.info["config"]},
                           {"provenance", run.info["provenance"]},
                           {"dataset", dataset},
                           {"root", fs::absolute(root).lexically_normal().string()},
                           {"category", cat},
                           {"setting", run.info.value("setting", "single-class")},
                           {"device", device_string(common.device)},
                           {"infer_seconds", seconds_since(t0)},
                           {"stage_seconds", stages},
                           {"produced_by", make_provenance(*run.detector, common).to_json()}};
    writer.commit(prov);
    written += data.test.size();
  }
  return written;
}

namespace {

/// One scene of videos for eval: the detector (trained here on the scene, or the run's) or the
/// prediction folder, frame by frame into evaluate_video_category and the optional writer. A model
/// trained here goes to keep_run (eval --run-out).
CategoryResult eval_video_category(
    const EvalRequest& req, const CommonOptions& common, const CategoryData& data, Detector* run_detector,
    ResultRecord& rec,
    const std::function<void(const Detector&, const std::string&, std::size_t, double)>& keep_run) {
  std::unique_ptr<VideoPredictionWriter> writer;
  if (req.pred_out)
    writer = std::make_unique<VideoPredictionWriter>(*req.pred_out, data.category, req.heatmaps, req.force);
  std::unique_ptr<Detector> trained;
  std::unique_ptr<VideoPredictionReader> reader;
  VideoPredictor vp;
  double train_s = 0;
  if (req.detector) {
    if (req.setting && *req.setting == "multi-class")
      throw InputError("adbench eval: --setting multi-class is not defined for videos (one model per scene)");
    trained = make_detector(*req.detector, req.overrides, req.dataset, common.dataset);
    auto tt = Clock::now();
    fit_checked(*trained, data, common);
    train_s = seconds_since(tt);
    keep_run(*trained, data.category, data.train.size(), train_s);
    rec.source = {{"kind", "detector"}};
    rec.produced_by = make_provenance(*trained, common);
    vp = detector_video_predictor(*trained, common);
  } else if (run_detector) {
    rec.source = {{"kind", "run"}, {"path", fs::absolute(*req.run).lexically_normal().string()}};
    rec.produced_by = make_provenance(*run_detector, common);
    vp = detector_video_predictor(*run_detector, common);
  } else {
    rec.source = {{"kind", "predictions"},
                  {"path", fs::absolute(*req.predictions).lexically_normal().string()}};
    reader = std::make_unique<VideoPredictionReader>(*req.predictions, data.category, data.test);
    vp = reader_video_predictor(*reader, data.test);
  }
  CategoryResult r = evaluate_video_category(data, vp, req.eval, common, writer.get());
  r.seconds.train = train_s;
  if (reader) {
    r.train = 0;
    r.produced_by = prediction_origin(*req.predictions / data.category, data.category, r.warnings);
  }
  if (writer) {
    nlohmann::json prov = prediction_info(common, req.dataset, req.root, data.category);
    prov["source"] = rec.source;
    if (rec.produced_by)
      prov["produced_by"] = rec.produced_by->to_json();
    else if (r.produced_by)
      prov["produced_by"] = r.produced_by->to_json();
    // The folder's scores are the raw ones: what evaluation must skip is what this evaluation skipped.
    writer->commit(prov, frames_to_skip(req.eval, vp));
  }
  return r;
}

}  // namespace

ResultRecord eval(const EvalRequest& req, const CommonOptions& common) {
  auto t0 = Clock::now();
  int sources = int(req.detector.has_value()) + int(req.predictions.has_value()) + int(req.run.has_value());
  if (sources != 1) throw InputError("adbench eval: give exactly one of --detector, --pred or --run");
  if (req.setting && *req.setting == "multi-class" && req.category != "all")
    throw InputError(
        "adbench eval: --setting multi-class evaluates one model on every category: use --category all");
  protect_input(req.root, "the dataset root");
  if (req.predictions) protect_input(*req.predictions, "the prediction folder being read");
  if (req.run) protect_input(*req.run, "the run folder being read");
  protect_weights(req.overrides);
  if (req.detector) check_modality(*req.detector, req.dataset, common.dataset);
  if (req.heatmaps && dataset_modality(req.dataset, common.dataset) == Modality::MultiView)
    throw InputError(kNoMultiViewHeatmaps);
  if (req.out) check_output(*req.out, OutputKind::ResultFile, req.force);
  if (req.csv) check_csv_output(*req.csv, ResultRecord::csv_header());
  for (double l : req.eval.metrics.aupro_limits)
    if (!(l > 0.0 && l <= 1.0))
      throw InputError("--aupro-limits: each limit must be in (0, 1], got " + std::to_string(l));

  ResultRecord rec;
  rec.command = common.command_line;
  rec.dataset = req.dataset;
  rec.root = fs::absolute(req.root).lexically_normal().string();
  rec.device = device_string(common.device);
  rec.device_name = device_description(common.device);
  rec.threads = at::get_num_threads();
  rec.seed = common.seed;
  rec.created_utc = utc_timestamp();
  rec.options = {
      {"aupro_limits", req.eval.metrics.aupro_limits},
      {"ap_convention", req.eval.metrics.ap_convention == metrics::ApConvention::Step ? "step" : "trapezoid"},
      {"aupro_bins", req.eval.metrics.aupro_bins},
      {"aupro_convention",
       req.eval.metrics.aupro_convention == metrics::AuproConvention::Exact ? "exact" : "cflow200"},
      {"resize_maps", req.eval.resize},
      {"batch_size", common.batch_size},
      {"frame_norm", req.eval.frames.per_video_norm ? "per-video" : "none"},
      {"score_direction", req.eval.frames.lower_is_anomalous ? "lower" : "higher"},
      {"skip_frames",
       req.eval.frames.skip_frames ? nlohmann::json(*req.eval.frames.skip_frames) : nlohmann::json("auto")},
      {"sample_agg", req.eval.sample_agg == SampleAgg::Max ? "max" : "mean"},
      {"split",
       common.dataset.split.empty() ? nlohmann::json("default") : nlohmann::json(common.dataset.split)},
      {"label_mismatch", common.dataset.label_mismatch == LabelMismatch::Error      ? "error"
                         : common.dataset.label_mismatch == LabelMismatch::Truncate ? "truncate"
                                                                                    : "skip"}};
  if (req.eval.metrics.keep_curves) rec.options["curves"] = true;  // absent without --curves

  std::optional<LoadedRun> run;
  if (req.run) {
    run = load_run(*req.run);
    protect_weights(run->detector->config());
    check_modality(run->detector->name(), req.dataset, common.dataset);
  }
  rec.setting = req.setting.value_or("single-class");
  check_setting(rec.setting);
  if (run) {
    std::string trained = run->info.value("setting", "single-class");
    if (req.setting && *req.setting != trained)
      throw InputError("adbench eval: --setting " + *req.setting + " but the run was trained " + trained);
    rec.setting = trained;
  }
  const bool multi = rec.setting == "multi-class";
  auto categories = resolve_categories(req.dataset, req.root, req.category, common.dataset);
  if (req.predictions && req.category == "all") {
    // A prediction folder may hold some of the categories: evaluate those, and say which not.
    if (!is_dir(*req.predictions)) throw_file_error(*req.predictions, "no such prediction folder");
    std::vector<std::string> present, absent;
    for (const auto& c : categories) (is_dir(*req.predictions / c) ? present : absent).push_back(c);
    auto join = [](const std::vector<std::string>& v) {
      std::string out;
      for (const auto& x : v) out += (out.empty() ? "" : ", ") + x;
      return out;
    };
    if (present.empty())
      throw_file_error(*req.predictions, "no predictions for any of the " +
                                             std::to_string(categories.size()) +
                                             " categories of the dataset (" + join(categories) +
                                             "; expected <category>/test/<defect>/<stem>.tiff)");
    if (!absent.empty())
      warn(rec.warnings, "--category all: skipped " + std::to_string(absent.size()) + " of " +
                             std::to_string(categories.size()) + " categories with no folder in " +
                             req.predictions->string() + ": " + join(absent));
    categories = present;
  }
  if (req.pred_out)
    for (const auto& c : categories) check_output(*req.pred_out / c, OutputKind::PredictionFolder, req.force);
  if (req.run_out) {
    if (!req.detector)
      throw InputError("adbench eval: --run-out needs --detector (it keeps the models trained)");
    for (const auto& c : multi ? std::vector<std::string>{"all"} : categories)
      check_output(*req.run_out / c, OutputKind::RunFolder, req.force);
  }
  // Keeps a model just trained as the run folder RUN_OUT/<category>.
  const auto keep_run = [&](const Detector& det, const std::string& category, std::size_t train_count,
                            double train_s) {
    if (!req.run_out) return;
    StagingDir staging(*req.run_out / category, OutputKind::RunFolder, req.force);
    write_run_folder(
        staging, det,
        run_info(det, common, req.dataset, req.root, category, rec.setting, train_count, train_s));
  };

  // Multi-class with --detector: one model on the union of every category's train images.
  std::unique_ptr<Detector> shared;
  double shared_train_s = 0;
  int64_t shared_train_count = 0;
  if (req.detector && multi) {
    CategoryData all = load_union(req.dataset, req.root, common.dataset);
    shared = make_detector(*req.detector, req.overrides, req.dataset, common.dataset);
    auto tt = Clock::now();
    fit_checked(*shared, all, common);
    shared_train_s = seconds_since(tt);
    shared_train_count = static_cast<int64_t>(all.train.size());
    keep_run(*shared, "all", all.train.size(), shared_train_s);
    spdlog::info("multi-class: trained one {} on {} images of every category in {:.1f} s", shared->name(),
                 shared_train_count, shared_train_s);
  }

  for (const auto& category : categories) {
    spdlog::info("category {}", category);
    auto tc = Clock::now();
    CategoryData data = load_category(req.dataset, req.root, category, common.dataset);
    if (data.modality == Modality::Video) {
      rec.categories.push_back(
          eval_video_category(req, common, data, run ? run->detector.get() : nullptr, rec, keep_run));
      rec.categories.back().seconds.total = seconds_since(tc);
      continue;
    }
    std::unique_ptr<PredictionWriter> writer;
    if (req.pred_out)
      writer = std::make_unique<PredictionWriter>(*req.pred_out, category, req.heatmaps, req.force,
                                                  views_dir(data));
    CategoryResult r;
    if (shared) {
      rec.source = {{"kind", "detector"}};
      rec.produced_by = make_provenance(*shared, common);
      r = evaluate_category(data, detector_predictor(*shared, common), req.eval, common, writer.get());
      r.seconds.train = shared_train_s;  // the one shared model's training time, on every row
      r.train = shared_train_count;
    } else if (req.detector) {
      auto det = make_detector(*req.detector, req.overrides, req.dataset, common.dataset);
      auto tt = Clock::now();
      fit_checked(*det, data, common);
      double train_s = seconds_since(tt);
      keep_run(*det, category, data.train.size(), train_s);
      rec.source = {{"kind", "detector"}};
      rec.produced_by = make_provenance(*det, common);
      r = evaluate_category(data, detector_predictor(*det, common), req.eval, common, writer.get());
      r.seconds.train = train_s;
    } else if (run) {
      rec.source = {{"kind", "run"}, {"path", fs::absolute(*req.run).lexically_normal().string()}};
      rec.produced_by = make_provenance(*run->detector, common);
      r = evaluate_category(data, detector_predictor(*run->detector, common), req.eval, common, writer.get());
      r.train = run->info.value("train_count", 0);
      if (multi) r.seconds.train = run->info.value("train_seconds", 0.0);
    } else {
      rec.source = {{"kind", "predictions"},
                    {"path", fs::absolute(*req.predictions).lexically_normal().string()}};
      PredictionReader reader(*req.predictions, category, data.test, views_dir(data));
      auto predict = [&reader](const std::vector<Sample>& batch) {
        std::vector<Prediction> out;
        for (const auto& s : batch) out.push_back(reader.read(s));
        return out;
      };
      UnitNamer view_name;  // multi-view: errors name the view's map file and its image_path
      if (!views_dir(data).empty())
        view_name = [&reader](const Sample& s, std::size_t u) { return reader.view_name(s, u); };
      r = evaluate_category(data, predict, req.eval, common, writer.get(), view_name);
      r.train = 0;
      r.produced_by = prediction_origin(*req.predictions / category, category, r.warnings);
    }
    if (writer) {
      nlohmann::json prov = {{"adbench_version", build::kVersion},
                             {"git_commit", build::kGitCommit},
                             {"created_utc", utc_timestamp()},
                             {"command", common.command_line},
                             {"source", rec.source},
                             {"dataset", req.dataset},
                             {"setting", rec.setting},
                             {"root", rec.root},
                             {"category", category},
                             {"device", rec.device}};
      // What computed these maps: the detector that ran here, or the producer of the folder read.
      if (rec.produced_by)
        prov["produced_by"] = rec.produced_by->to_json();
      else if (r.produced_by)
        prov["produced_by"] = r.produced_by->to_json();
      writer->commit(prov);
    }
    r.seconds.total = seconds_since(tc);
    rec.categories.push_back(std::move(r));
  }
  rec.wall_seconds = seconds_since(t0);
  rec.peak_rss_bytes = peak_rss_bytes();
  if (req.out) write_result_file(*req.out, rec.to_json().dump(2) + "\n", req.force);
  if (req.csv) append_csv_rows(*req.csv, ResultRecord::csv_header(), rec.csv_rows());
  return rec;
}

}  // namespace adbench
