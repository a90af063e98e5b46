/// <reference lib="dom" />

import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  type ChartConfiguration,
  Filler,
  LinearScale,
  LineController,
  LineElement,
  type Plugin,
  PointElement,
  Tooltip,
} from 'chart.js';

/**
 * Charts through chart.js (bundled, tree-shaken to what is used). The palette is
 * Okabe–Ito, distinguishable with the common colour-vision deficiencies; no meaning is
 * carried by colour alone (values, symbols and labels say the same thing).
 */

Chart.register(LineController, LineElement, PointElement, BarController, BarElement, CategoryScale, LinearScale, Filler, Tooltip);

export const PALETTE = {
  skyBlue: '#56B4E9',
  orange: '#E69F00',
  green: '#009E73',
  yellow: '#F0E442',
  blue: '#0072B2',
  vermillion: '#D55E00',
  purple: '#CC79A7',
  grid: '#25303b',
  text: '#c9d3dd',
} as const;

Chart.defaults.color = PALETTE.text;
Chart.defaults.borderColor = PALETTE.grid;
Chart.defaults.font.size = 13;
// A wall screen redraws every minute: animation only costs CPU and blurs screenshots.
Chart.defaults.animation = false;
Chart.defaults.maintainAspectRatio = false;

/** Exposes each point's pixel position on the canvas (data-points), for automation and assistive tooling. */
const pointPositions: Plugin = {
  id: 'cxvPointPositions',
  afterRender(chart) {
    const meta = chart.getDatasetMeta(0);
    chart.canvas.dataset.points = JSON.stringify(meta.data.map((p) => [Math.round(p.x), Math.round(p.y)]));
  },
};

const live = new Set<Chart>();

/** Charts are rebuilt with each refresh; the old ones must release their canvases. */
export function destroyCharts(): void {
  for (const c of live) c.destroy();
  live.clear();
}

function make(canvas: HTMLCanvasElement, config: ChartConfiguration): Chart {
  const chart = new Chart(canvas, config);
  live.add(chart);
  return chart;
}

const axisX = { ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 6 }, grid: { display: false } };

export function csiChart(
  canvas: HTMLCanvasElement,
  labels: string[],
  values: Array<number | null>,
  onPick: (index: number) => void,
): Chart {
  return make(canvas, {
    type: 'line',
    data: {
      labels,
      datasets: [
        {
          label: 'CSI',
          data: values,
          borderColor: PALETTE.skyBlue,
          backgroundColor: PALETTE.skyBlue,
          pointRadius: 3,
          pointHoverRadius: 7,
          borderWidth: 3,
          spanGaps: false,
        },
      ],
    },
    options: {
      scales: { x: axisX, y: { min: 0, max: 100, ticks: { stepSize: 25 } } },
      interaction: { mode: 'nearest', axis: 'x', intersect: false },
      plugins: { tooltip: { callbacks: { footer: () => 'click to see what cost the points' } } },
      onClick: (_event, elements) => {
        const first = elements[0];
        if (first) onPick(first.index);
      },
    },
    plugins: [pointPositions],
  });
}

export function availabilityChart(
  canvas: HTMLCanvasElement,
  labels: string[],
  serviceability: Array<number | null>,
  availability: Array<number | null>,
  retroactive: boolean[],
): Chart {
  const pct = (v: number | null) => (v === null ? null : v * 100);
  return make(canvas, {
    type: 'line',
    data: {
      labels,
      datasets: [
        {
          label: 'Availability',
          data: availability.map(pct),
          borderColor: PALETTE.skyBlue,
          backgroundColor: PALETTE.skyBlue,
          borderWidth: 3,
          pointRadius: 0,
        },
        {
          // Filled down to Availability: the shaded band is the gap planned maintenance explains.
          label: 'Serviceability',
          data: serviceability.map(pct),
          borderColor: PALETTE.orange,
          backgroundColor: 'rgba(230, 159, 0, 0.25)',
          borderWidth: 3,
          borderDash: [6, 4],
          pointRadius: 0,
          fill: '-1',
        },
        {
          label: 'retroactive maintenance',
          data: serviceability.map((v, i) => (retroactive[i] ? pct(v) : null)),
          borderColor: PALETTE.purple,
          backgroundColor: PALETTE.purple,
          showLine: false,
          pointStyle: 'triangle',
          pointRadius: 8,
        },
      ],
    },
    options: {
      scales: { x: axisX, y: { suggestedMax: 100, ticks: { callback: (v) => `${v}%` } } },
      interaction: { mode: 'index', intersect: false },
    },
  });
}

export function socialChart(
  canvas: HTMLCanvasElement,
  labels: string[],
  volumes: Array<number | null>,
  surging: boolean[],
): Chart {
  return make(canvas, {
    type: 'bar',
    data: {
      labels,
      datasets: [
        {
          label: 'posts',
          data: volumes,
          backgroundColor: surging.map((s) => (s ? PALETTE.vermillion : PALETTE.blue)),
        },
      ],
    },
    options: { scales: { x: axisX, y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
}
