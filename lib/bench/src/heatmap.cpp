#include "adbench/bench/heatmap.hpp"

#include <algorithm>
#include <cstdio>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "adbench/core/error.hpp"
#include "adbench/core/image_io.hpp"

namespace fs = std::filesystem;

namespace adbench {

namespace {

std::string g4(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

const cv::Scalar kBandColour(24, 24, 24);  // RGB: the bands' background
const cv::Scalar kTextColour(255, 255, 255);
constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
constexpr int kMargin = 6;

enum class Align { Left, Centre, Right };

/// Draws `text` with its baseline at y, anchored at x, in at most `max_width` pixels (the font
/// shrinks down to 0.3 to fit; a wider text is cut by the picture's edge).
void put(cv::Mat& img, const std::string& text, int x, int y, Align align, int max_width) {
  double scale = 0.45;
  int base = 0;
  cv::Size sz = cv::getTextSize(text, kFont, scale, 1, &base);
  while (sz.width > max_width && scale > 0.3) {
    scale -= 0.05;
    sz = cv::getTextSize(text, kFont, scale, 1, &base);
  }
  int left = align == Align::Left ? x : align == Align::Right ? x - sz.width : x - sz.width / 2;
  cv::putText(img, text, cv::Point(std::max(0, left), y), kFont, scale, kTextColour, 1, cv::LINE_AA);
}

}  // namespace

HeatmapText heatmap_text(int label, const std::string& defect, double score, double lo, double hi) {
  HeatmapText t;
  t.ground_truth = label ? "GT: anomalous (" + excerpt(defect, 40) + ")" : "GT: normal";
  t.score = "score " + g4(score);
  if (score > hi)
    t.score += " (above range)";
  else if (score < lo)
    t.score += " (below range)";
  t.low = g4(lo);
  t.high = g4(hi);
  return t;
}

void write_heatmap(const fs::path& out, const Sample& s, const at::Tensor& map, double lo, double hi,
                   double score) {
  write_heatmap(out, read_image_rgb(s.path()), s.truth(), s.label, s.defect, map, lo, hi, score);
}

void write_heatmap(const fs::path& out, const cv::Mat& rgb, const std::optional<fs::path>& truth, int label,
                   const std::string& defect, const at::Tensor& map, double lo, double hi, double score) {
  cv::Mat m = tensor_to_mat(map);
  if (m.size() != rgb.size()) cv::resize(m, m, rgb.size(), 0, 0, cv::INTER_LINEAR);
  cv::Mat norm;
  double scale = hi > lo ? 255.0 / (hi - lo) : 0.0;
  m.convertTo(norm, CV_8U, scale, -lo * scale);  // saturates outside [lo, hi]
  cv::Mat color;
  cv::applyColorMap(norm, color, cv::COLORMAP_JET);
  cv::cvtColor(color, color, cv::COLOR_BGR2RGB);
  cv::Mat overlay;
  cv::addWeighted(rgb, 0.5, color, 0.5, 0.0, overlay);
  if (truth) {
    cv::Mat mask = read_mask(*truth);
    if (mask.size() == rgb.size()) {
      std::vector<std::vector<cv::Point>> contours;
      cv::findContours(mask, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_NONE);
      cv::drawContours(overlay, contours, -1, cv::Scalar(255, 255, 255), 1);
    }
  }
  cv::Mat panel;
  cv::hconcat(rgb, overlay, panel);
  int target_h = std::clamp(panel.rows, 128, 512);
  if (panel.rows != target_h) {
    double f = static_cast<double>(target_h) / panel.rows;
    cv::resize(panel, panel, cv::Size(), f, f, cv::INTER_AREA);
  }

  // Bands above and below: text and colour bar never cover the picture.
  const int w = panel.cols, h = panel.rows;
  cv::Mat page(kHeatmapCaptionHeight + h + kHeatmapBarHeight, w, CV_8UC3, kBandColour);
  panel.copyTo(page(cv::Rect(0, kHeatmapCaptionHeight, w, h)));
  const HeatmapText text = heatmap_text(label, defect, score, lo, hi);
  put(page, text.ground_truth, kMargin, 18, Align::Left, w - 2 * kMargin);
  put(page, text.score, kMargin, 38, Align::Left, w - 2 * kMargin);

  // Colour bar: the overlay's JET scale from lo (left end) to hi (right end).
  const int bar_top = kHeatmapCaptionHeight + h + 5, bar_h = 12, bar_w = std::max(1, w - 2 * kMargin);
  cv::Mat ramp(1, bar_w, CV_8U);
  for (int i = 0; i < bar_w; ++i)
    ramp.at<unsigned char>(0, i) =
        static_cast<unsigned char>(bar_w > 1 ? (255 * i + (bar_w - 1) / 2) / (bar_w - 1) : 0);
  cv::Mat bar;
  cv::applyColorMap(ramp, bar, cv::COLORMAP_JET);
  cv::cvtColor(bar, bar, cv::COLOR_BGR2RGB);
  cv::resize(bar, bar, cv::Size(bar_w, bar_h), 0, 0, cv::INTER_NEAREST);
  if (kMargin + bar_w <= w) bar.copyTo(page(cv::Rect(kMargin, bar_top, bar_w, bar_h)));
  const int label_y = bar_top + bar_h + 15, half = std::max(1, bar_w / 2 - 4);
  put(page, text.low, kMargin, label_y, Align::Left, half);
  put(page, text.high, w - kMargin, label_y, Align::Right, half);
  if (w >= 320) put(page, "anomaly map scale", w / 2, label_y, Align::Centre, w / 3);

  std::error_code ec;
  if (!out.parent_path().empty()) fs::create_directories(out.parent_path(), ec);
  if (ec) throw_file_error(out.parent_path(), "cannot create folder (" + ec.message() + ")");
  write_image_rgb(out, page);
}

}  // namespace adbench
