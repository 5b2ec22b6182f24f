#include "video_common/video_detector.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <deque>
#include <limits>
#include <opencv2/imgproc.hpp>

#include "adbench/core/error.hpp"
#include "adbench/core/interrupt.hpp"
#include "adbench/core/log.hpp"
#include "adbench/core/progress.hpp"
#include "adbench/core/rng.hpp"
#include "adbench/core/safetensors.hpp"
#include "adbench/core/video.hpp"
#include "video_common/frame_predictor.hpp"

namespace fs = std::filesystem;

namespace adbench::video {

namespace {

/// Videos read at once while streaming training clips (each holds t+1 frames and a decoder).
constexpr std::size_t kOpenVideos = 8;

std::uint64_t below(Rng& rng, std::size_t n) { return rng.next() % static_cast<std::uint64_t>(n); }

/// Clips a video of n frames gives: starts s = 0, stride, 2 stride, ... with s + t < n.
std::int64_t clip_count(std::size_t n, int t, int stride) {
  if (n < static_cast<std::size_t>(t) + 1) return 0;
  return static_cast<std::int64_t>((n - static_cast<std::size_t>(t) - 1) / static_cast<std::size_t>(stride)) +
         1;
}

using Clip = std::vector<at::Tensor>;  // t+1 frames, uint8 [3,h,w], shared between overlapping clips

/// One training video read in order, yielding its clips.
class VideoStream {
 public:
  VideoStream(const Sample& v, int t, int stride, const std::function<at::Tensor(const cv::Mat&)>& prep)
      : reader_(v), t_(static_cast<std::size_t>(t)), stride_(static_cast<std::size_t>(stride)), prep_(prep) {}
  bool next_clip(Clip& out) {
    while (!reader_.done()) {
      const std::size_t p = reader_.position();
      window_.push_back(prep_(reader_.next()));
      if (window_.size() > t_ + 1) window_.pop_front();
      if (p >= t_ && (p - t_) % stride_ == 0) {
        out.assign(window_.begin(), window_.end());
        return true;
      }
    }
    return false;
  }

 private:
  FrameReader reader_;
  std::size_t t_, stride_;
  const std::function<at::Tensor(const cv::Mat&)>& prep_;
  std::deque<at::Tensor> window_;
};

/// The clips of one epoch in a seeded random order (see the header).
class ClipStream {
 public:
  ClipStream(const std::vector<Sample>& videos, int t, int stride, std::size_t capacity, std::uint64_t seed,
             std::int64_t epoch, std::function<at::Tensor(const cv::Mat&)> prep)
      : videos_(videos),
        t_(t),
        stride_(stride),
        capacity_(capacity),
        rng_(splitmix_of(seed, epoch)),
        prep_(std::move(prep)) {
    for (std::size_t i = 0; i < videos.size(); ++i)
      if (clip_count(videos[i].units.size(), t, stride) > 0) order_.push_back(i);
    for (std::size_t i = order_.size(); i > 1; --i) std::swap(order_[i - 1], order_[below(rng_, i)]);
  }
  bool draw(Clip& out) {
    while (buffer_.size() < capacity_ && (!open_.empty() || next_ < order_.size())) {
      while (open_.size() < kOpenVideos && next_ < order_.size())
        open_.push_back(std::make_unique<VideoStream>(videos_[order_[next_++]], t_, stride_, prep_));
      const std::size_t j = below(rng_, open_.size());
      Clip c;
      if (open_[j]->next_clip(c))
        buffer_.push_back(std::move(c));
      else
        open_.erase(open_.begin() + static_cast<std::ptrdiff_t>(j));
    }
    if (buffer_.empty()) return false;
    const std::size_t k = below(rng_, buffer_.size());
    out = std::move(buffer_[k]);
    if (k + 1 != buffer_.size()) buffer_[k] = std::move(buffer_.back());
    buffer_.pop_back();
    return true;
  }

 private:
  static std::uint64_t splitmix_of(std::uint64_t seed, std::int64_t epoch) {
    std::uint64_t s = seed ^ fnv1a("adbench video clips");
    s += 0x9E3779B97F4A7C15ULL * static_cast<std::uint64_t>(epoch + 1);
    return splitmix64(s);
  }
  const std::vector<Sample>& videos_;
  int t_, stride_;
  std::size_t capacity_;
  Rng rng_;
  std::function<at::Tensor(const cv::Mat&)> prep_;
  std::vector<std::size_t> order_;
  std::size_t next_ = 0;
  std::vector<std::unique_ptr<VideoStream>> open_;
  std::vector<Clip> buffer_;
};

nlohmann::json without_resumable(nlohmann::json c) {
  for (const auto& k : resumable_keys()) c.erase(k);
  return c;
}

}  // namespace

// ---- settings ---------------------------------------------------------------------------------

SettingsTable training_settings(const TrainingDefaults& d) {
  SettingsTable t;
  t.push_back(
      {"height", d.height, SettingRange::integer(8, 4096), "network input height; frames are resized"});
  t.push_back({"width", d.width, SettingRange::integer(8, 4096), "network input width; frames are resized"});
  t.push_back({"frames", d.frames, SettingRange::integer(1, 64),
               "t: input frames per prediction; the first t frames of a video get no score"});
  t.push_back({"clip_stride", d.clip_stride, SettingRange::integer(1, 100000),
               "training clips of t+1 frames start at every clip_stride-th frame"});
  t.push_back({"resize", d.resize, SettingRange::choice({"bicubic", "bilinear"}),
               "interpolation used to resize frames to height x width"});
  t.push_back({"batch", d.batch, SettingRange::integer(1, 65536),
               "training clips per optimiser step (prediction batches: --batch-size)"});
  t.push_back({"epochs", d.epochs, SettingRange::integer(0, 1000000),
               "training epochs (0: no limit; training ends at epochs or iterations, whichever first)"});
  t.push_back({"iterations", d.iterations, SettingRange::integer(0, 1000000000),
               "training optimiser steps (0: no limit; at least one of epochs and iterations is set)"});
  t.push_back({"lr", d.lr, SettingRange::number(0, true, 1), "Adam learning rate"});
  t.push_back({"beta1", d.beta1, SettingRange::number(0, false, 1, true), "Adam beta1"});
  t.push_back({"beta2", d.beta2, SettingRange::number(0, false, 1, true), "Adam beta2"});
  t.push_back({"lr_milestones", d.lr_milestones, SettingRange::integers(0, 16, 1, 1000000),
               "epochs after which the learning rate is multiplied by lr_gamma"});
  t.push_back(
      {"lr_gamma", d.lr_gamma, SettingRange::number(0, true, 1), "learning-rate factor at milestones"});
  t.push_back({"shuffle_buffer", 256, SettingRange::integer(1, 1000000),
               "training clips held for shuffling (memory: at most this many clips of resized frames)"});
  t.push_back({"checkpoint_every", d.checkpoint_every, SettingRange::integer(0, 1000000),
               "with --checkpoint-dir: a checkpoint every N epochs (0: only at the end)"});
  t.push_back({"keep_checkpoints", 2, SettingRange::integer(1, 1000000),
               "checkpoints kept in --checkpoint-dir (older ones are deleted)"});
  t.push_back({"sigma", d.sigma, SettingRange::number(0, false, 64),
               "Gaussian smoothing of the error maps, in pixels at network resolution (0: none)"});
  return t;
}

const std::vector<std::string>& resumable_keys() {
  static const std::vector<std::string> keys = {"epochs", "iterations", "checkpoint_every",
                                                "keep_checkpoints"};
  return keys;
}

// ---- detector ---------------------------------------------------------------------------------

VideoPredictionDetector::VideoPredictionDetector(std::string name, nlohmann::json config,
                                                 PredictorFactory factory, int size_multiple)
    : name_(std::move(name)), config_(std::move(config)), factory_(std::move(factory)) {
  t_ = config_.at("frames").get<int>();
  height_ = config_.at("height").get<int>();
  width_ = config_.at("width").get<int>();
  stride_ = config_.at("clip_stride").get<int>();
  sigma_ = config_.at("sigma").get<double>();
  for (const char* k : {"height", "width"}) {
    const int v = config_.at(k).get<int>();
    if (size_multiple > 1 && v % size_multiple != 0)
      throw InputError("detector " + name_ + ": setting '" + k + "' must be a multiple of " +
                       std::to_string(size_multiple) + " for this network, got " + std::to_string(v));
  }
}

FramePredictor& VideoPredictionDetector::network() {
  if (!net_) {
    net_ = factory_(config_);
    if (!net_) throw InternalError(name_ + ": the network factory returned nothing");
  }
  return *net_;
}

at::Tensor VideoPredictionDetector::to_u8(const cv::Mat& rgb) const {
  cv::Mat r;
  const int interp =
      config_.at("resize").get<std::string>() == "bilinear" ? cv::INTER_LINEAR : cv::INTER_CUBIC;
  if (rgb.cols == width_ && rgb.rows == height_)
    r = rgb;
  else
    cv::resize(rgb, r, cv::Size(width_, height_), 0, 0, interp);
  if (!r.isContinuous()) r = r.clone();
  return at::from_blob(r.data, {height_, width_, 3}, at::kByte).permute({2, 0, 1}).contiguous();
}

at::Tensor VideoPredictionDetector::to_input(const cv::Mat& rgb) const {
  return to_u8(rgb).to(at::kFloat).div_(127.5).sub_(1.0);
}

std::vector<double> VideoPredictionDetector::neg_psnr(const at::Tensor& predicted, const at::Tensor& actual) {
  at::Tensor d = (predicted.to(at::kDouble) - actual.to(at::kDouble)) * 0.5;  // difference on [0, 1]
  at::Tensor mse = d.pow(2).flatten(1).mean(1).to(at::kCPU).contiguous();
  std::vector<double> out(static_cast<std::size_t>(mse.size(0)));
  const double* m = mse.data_ptr<double>();
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = 10.0 * std::log10(std::max(m[i], 1e-10));
  return out;
}

struct VideoPredictionDetector::Budget {
  std::int64_t steps_per_epoch = 0, total_steps = 0, epochs_shown = 0;
};

void VideoPredictionDetector::fit(const std::vector<Sample>& train, const RunContext& ctx) {
  if (train.empty()) throw InputError(name_ + ": no training videos");
  std::int64_t clips = 0;
  std::size_t frames = 0;
  for (const auto& v : train) {
    if (v.modality != Modality::Video)
      throw InternalError(name_ + ": training sample '" + v.rel_path + "' is not a video");
    clips += clip_count(v.units.size(), t_, stride_);
    frames += v.units.size();
  }
  if (clips == 0)
    throw InputError(name_ + ": no training clip: every training video has fewer than " +
                     std::to_string(t_ + 1) + " frames (setting 'frames' is " + std::to_string(t_) + ")");
  const int batch = config_.at("batch").get<int>();
  const std::int64_t epochs = config_.at("epochs").get<std::int64_t>();
  const std::int64_t iterations = config_.at("iterations").get<std::int64_t>();
  if (epochs == 0 && iterations == 0)
    throw InputError(name_ + ": no training budget: set 'epochs' or 'iterations' (both are 0)");
  Budget b;
  b.steps_per_epoch = (clips + batch - 1) / batch;
  b.total_steps = std::numeric_limits<std::int64_t>::max();
  if (epochs > 0) b.total_steps = epochs * b.steps_per_epoch;
  if (iterations > 0) b.total_steps = std::min(b.total_steps, iterations);
  b.epochs_shown = (b.total_steps + b.steps_per_epoch - 1) / b.steps_per_epoch;
  const std::string data_id = std::to_string(train.size()) + " videos, " + std::to_string(frames) +
                              " frames, " + std::to_string(clips) + " clips";

  const double lr0 = config_.at("lr").get<double>(), gamma = config_.at("lr_gamma").get<double>();
  const double beta1 = config_.at("beta1").get<double>(), beta2 = config_.at("beta2").get<double>();
  const auto milestones = config_.at("lr_milestones").get<std::vector<std::int64_t>>();
  const auto capacity = static_cast<std::size_t>(config_.at("shuffle_buffer").get<std::int64_t>());
  const std::int64_t every = config_.at("checkpoint_every").get<std::int64_t>();
  const auto keep = static_cast<std::size_t>(config_.at("keep_checkpoints").get<std::int64_t>());
  const fs::path& ckdir = ctx.checkpoint_dir;

  at::manual_seed(ctx.seed);
  net_ = nullptr;
  network();
  net_->to(ctx.device);
  adam_.reset(*net_);
  step_losses_.clear();

  std::int64_t epoch = 0, epoch_step = 0, step = 0;
  if (ctx.resume) {
    const train::Position pos =
        train::resume_checkpoint(ckdir, *net_, adam_, checkpoint_key(data_id, ctx.seed));
    epoch = pos.epoch;
    epoch_step = pos.epoch_step;
    step = pos.step;
  }

  auto prep = [this](const cv::Mat& rgb) { return to_u8(rgb); };  // clips are held as 8-bit frames
  spdlog::info("{}: training on {}; {} steps of {} clips per epoch, {} steps ({} epochs) in all", name_,
               data_id, b.steps_per_epoch, batch, b.total_steps, b.epochs_shown);
  Progress progress(name_ + ": training", b.total_steps);
  if (step > 0) progress.tick(std::min(step, b.total_steps));
  const auto t0 = std::chrono::steady_clock::now();
  auto last_log = t0;
  const std::int64_t first_step = step;
  double epoch_loss = 0;
  std::int64_t epoch_count = 0;
  bool saved_last = false;
  net_->train();
  for (; step < b.total_steps; ++epoch, epoch_step = 0) {
    double lr = lr0;
    for (auto m : milestones)
      if (epoch >= m) lr *= gamma;
    ClipStream stream(train, t_, stride_, capacity, ctx.seed, epoch, prep);
    Clip c;
    for (std::int64_t i = 0; i < epoch_step * batch; ++i) stream.draw(c);  // replay a resumed epoch
    epoch_loss = 0;
    epoch_count = 0;
    for (; epoch_step < b.steps_per_epoch && step < b.total_steps; ++epoch_step) {
      std::vector<at::Tensor> items;
      while (static_cast<int>(items.size()) < batch && stream.draw(c)) items.push_back(at::stack(c));
      if (items.empty()) throw InternalError(name_ + ": the clip stream ended early");
      at::Tensor x = at::stack(items).to(ctx.device).to(at::kFloat).div_(127.5).sub_(1.0);
      at::Tensor input = x.narrow(1, 0, t_), target = x.select(1, t_);
      at::Tensor loss = net_->loss(net_->predict(input), target);
      net_->zero_grad();
      loss.backward();
      ++step;
      adam_.update(*net_, step, lr, beta1, beta2);
      const double l = loss.item<double>();
      step_losses_.push_back(l);
      epoch_loss += l;
      ++epoch_count;
      saved_last = false;
      progress.tick();
      const auto now = std::chrono::steady_clock::now();
      const double since_log = std::chrono::duration<double>(now - last_log).count();
      if (since_log >= 30.0 || step == b.total_steps) {
        last_log = now;
        const double elapsed = std::chrono::duration<double>(now - t0).count();
        const double done = static_cast<double>(step - first_step);
        const double fps = elapsed > 0 ? done * batch / elapsed : 0.0;
        const double eta = done > 0 ? elapsed / done * static_cast<double>(b.total_steps - step) : NAN;
        spdlog::info("{}: epoch {}/{} step {}/{} loss {:.5f} lr {:.3g} {:.1f} frames/s ETA {}", name_,
                     epoch + 1, b.epochs_shown, step, b.total_steps,
                     epoch_loss / static_cast<double>(epoch_count), lr, fps, train::hms(eta));
      }
    }
    if (epoch_step == b.steps_per_epoch && !ckdir.empty() && every > 0 && (epoch + 1) % every == 0) {
      train::save_checkpoint(ckdir, *net_, adam_, {epoch + 1, 0, step}, checkpoint_key(data_id, ctx.seed),
                             keep);
      saved_last = true;
    }
    if (epoch_step < b.steps_per_epoch) break;  // the iteration budget ended inside this epoch
  }
  progress.done();
  if (!ckdir.empty() && !saved_last && step > first_step) {
    if (epoch_step == b.steps_per_epoch) ++epoch, epoch_step = 0;
    train::save_checkpoint(ckdir, *net_, adam_, {epoch, epoch_step, step}, checkpoint_key(data_id, ctx.seed),
                           keep);
  }
  net_->zero_grad();
}

train::CheckpointKey VideoPredictionDetector::checkpoint_key(const std::string& data_id,
                                                             std::uint64_t seed) const {
  std::string resumable;
  for (const auto& k : resumable_keys()) resumable += (resumable.empty() ? "" : ", ") + k;
  return {name_, without_resumable(config_), resumable, seed, data_id, "training videos"};
}

double VideoPredictionDetector::predict_units(const Sample& sample, const RunContext& ctx,
                                              const UnitSink& sink) {
  if (!net_) throw InternalError(name_ + ": predict before fit or load");
  if (sample.modality != Modality::Video)
    throw InternalError(name_ + ": sample '" + sample.rel_path + "' is not a video");
  net_->to(ctx.device);
  net_->eval();
  at::NoGradGuard no_grad;
  FrameReader reader(sample);
  std::deque<at::Tensor> window;
  std::vector<at::Tensor> inputs, targets;
  std::vector<std::size_t> index;
  cv::Size size;
  double best = NAN;
  const std::size_t bs = static_cast<std::size_t>(std::max(1, ctx.batch_size));
  auto flush = [&]() {
    if (inputs.empty()) return;
    at::Tensor x = at::stack(inputs).to(ctx.device);
    at::Tensor y = at::stack(targets).to(ctx.device);
    at::Tensor p = net_->predict(x);
    std::vector<double> scores = neg_psnr(p, y);
    at::Tensor err;
    if (ctx.want_maps)
      err = ((p.to(at::kFloat) - y) * 0.5).pow(2).mean(1).to(at::kCPU).contiguous();  // [B,h,w]
    const int radius = static_cast<int>(std::lround(4.0 * sigma_));
    for (std::size_t b = 0; b < index.size(); ++b) {
      UnitOutput out;
      out.score = scores[b];
      if (std::isnan(best) || out.score > best) best = out.score;
      if (ctx.want_maps) {
        at::Tensor e = err[static_cast<std::int64_t>(b)].contiguous();
        cv::Mat m(height_, width_, CV_32FC1, e.data_ptr<float>());
        cv::Mat smooth, full;
        if (sigma_ > 0)
          cv::GaussianBlur(m, smooth, cv::Size(2 * radius + 1, 2 * radius + 1), sigma_, sigma_,
                           cv::BORDER_REFLECT);
        else
          smooth = m;
        if (size.width == width_ && size.height == height_)
          full = smooth.clone();
        else
          cv::resize(smooth, full, size, 0, 0, cv::INTER_LINEAR);
        out.map = at::from_blob(full.data, {full.rows, full.cols}, at::kFloat).clone();
      }
      sink(index[b], std::move(out));
    }
    inputs.clear();
    targets.clear();
    index.clear();
  };
  for (std::size_t i = 0; i < reader.size(); ++i) {
    cv::Mat frame = reader.next();
    size = frame.size();
    at::Tensor x = to_input(frame);
    if (i < static_cast<std::size_t>(t_)) {
      sink(i, UnitOutput{at::Tensor(), std::numeric_limits<double>::quiet_NaN()});
    } else {
      inputs.push_back(at::stack(std::vector<at::Tensor>(window.begin(), window.end())));
      targets.push_back(x);
      index.push_back(i);
      if (inputs.size() >= bs) flush();
    }
    window.push_back(x);
    if (window.size() > static_cast<std::size_t>(t_)) window.pop_front();
  }
  flush();
  return best;
}

std::vector<Prediction> VideoPredictionDetector::predict(const std::vector<Sample>& batch,
                                                         const RunContext& ctx) {
  std::vector<Prediction> out;
  for (const auto& s : batch) {
    Prediction p;
    p.units.resize(s.units.size());
    p.score = predict_units(s, ctx, [&p](std::size_t i, UnitOutput&& u) { p.units.at(i) = std::move(u); });
    out.push_back(std::move(p));
  }
  return out;
}

std::map<std::string, at::Tensor> VideoPredictionDetector::state() const {
  if (!net_) return {};
  return train::module_state(*net_);
}

void VideoPredictionDetector::load_state(const std::map<std::string, at::Tensor>& tensors) {
  network();
  train::load_module_state(name_, *net_, tensors);
}

}  // namespace adbench::video
