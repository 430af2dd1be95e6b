/**
 * The published HigherHRNet checkpoints: the paper's official model zoo (Google Drive /
 * OneDrive only, so they are fetched by hand) and the mmpose re-trainings (direct URLs on
 * download.openmmlab.com).
 *
 * Sources, checked against the repositories' own documents:
 * - official: README of HRNet/HigherHRNet-Human-Pose-Estimation (model zoo links, file
 *   name `pose_higher_hrnet_w32_512.pth`, the results tables);
 * - mmpose: configs/bottom_up/higherhrnet/README.md of open-mmlab/mmpose (checkpoint URLs
 *   and results tables). OpenMMLab's publish_model.py names every released file
 *   `NAME-<first 8 hex digits of its sha256>.pth`, which gives the checksum prefixes below.
 * No full sha256 and no file size is published for any of these files, so none is recorded.
 */
import { presetConfig, type PresetName } from '../config/presets.js';

/** A zoo problem the user can act on: unknown name, manual download, bad checksum, HTTP error. */
export class ZooError extends Error {
  override name = 'ZooError';
}

/** How the checkpoint names its tensors; the checkpoint loader maps mmpose names to official ones. */
export type Naming = 'official' | 'mmpose';

/** Names of the statistics, as the project's COCO / CrowdPose evaluation reports them. */
export type StatName = 'AP' | 'AP .5' | 'AP .75' | 'AP (M)' | 'AP (L)' | 'AR' | 'AR .5' | 'AP (E)' | 'AP (H)';

/** Published accuracy of a checkpoint, as fractions (0.671 for 67.1 AP). */
export interface ReportedResults {
  /** `official`: the HigherHRNet authors' README (the paper's models); `mmpose`: mmpose's README. */
  source: 'official' | 'mmpose';
  split: 'COCO val2017' | 'COCO test-dev2017' | 'CrowdPose test';
  /** Multi-scale test (official: scales 0.5, 1, 2; mmpose: [2, 1, 0.5] on COCO, [2, 1] on CrowdPose). */
  multiScale: boolean;
  stats: Partial<Record<StatName, number>>;
}

/** Where to get a file that has no direct URL. */
export interface ManualDownload {
  pages: { label: string; url: string }[];
  /** Anything the user must know beyond "download FILE from one of these pages". */
  instructions?: string;
}

interface EntryBase {
  /** Catalogue name given to `higher-pose weights fetch NAME`. */
  name: string;
  /** Architecture (tensor names and shapes) of the checkpoint, from src/config/presets.ts. */
  preset: PresetName;
  /** Input size the checkpoint was trained and evaluated at; differs from the preset's for mmpose W48. */
  inputSize: number;
  /** File name of the published checkpoint; also its name in the cache folder. */
  fileName: string;
  naming: Naming;
  /** Full sha256 (hex), where published. */
  sha256?: string;
  /** Leading hex digits of the sha256, where only those are published (mmpose file names). */
  sha256Prefix?: string;
  /** Size in bytes, where published. */
  size?: number;
  results: ReportedResults[];
  /** Caveats about this entry (unconfirmed availability or file name). */
  note?: string;
}

export interface DirectEntry extends EntryBase {
  url: string;
  manualDownload?: never;
}

export interface ManualEntry extends EntryBase {
  manualDownload: ManualDownload;
  url?: never;
}

export type ZooEntry = DirectEntry | ManualEntry;

export function isManual(entry: ZooEntry): entry is ManualEntry {
  return entry.manualDownload !== undefined;
}

const REPO = 'https://github.com/HRNet/HigherHRNet-Human-Pose-Estimation';
// The model zoo root (ImageNet backbones and pose models) and the COCO pose-model folder,
// both linked from the official README.
const OFFICIAL_PAGES = [
  { label: 'Google Drive, COCO models folder', url: 'https://drive.google.com/drive/folders/1X9-TzWpwbX2zQf2To8lB-ZQHMYviYYh6' },
  { label: 'Google Drive, model zoo', url: 'https://drive.google.com/open?id=1bdXVmYrSynPLSk5lptvgyQ8fhziobD50' },
  { label: 'OneDrive, model zoo', url: 'https://1drv.ms/f/s!AhIXJn_J-blW4AwKRMklXVzndJT0' },
];

/** The official pages, led by the file's own Google Drive page where one is known. */
function officialPages(driveFileId?: string): ManualDownload {
  // Per-file Drive pages are as linked from the README of stefanopini/simple-HigherHRNet;
  // the official README links only the folders.
  const own = driveFileId ? [{ label: 'Google Drive, this file', url: `https://drive.google.com/file/d/${driveFileId}/view` }] : [];
  return { pages: [...own, ...OFFICIAL_PAGES] };
}

const MMPOSE = 'https://download.openmmlab.com/mmpose/bottom_up';

function cocoStats(ap: number, ap50: number, ap75: number, apM: number, apL: number): ReportedResults['stats'] {
  return { AP: ap, 'AP .5': ap50, 'AP .75': ap75, 'AP (M)': apM, 'AP (L)': apL };
}

function mmposeCocoStats(ap: number, ap50: number, ap75: number, ar: number, ar50: number): ReportedResults['stats'] {
  return { AP: ap, 'AP .5': ap50, 'AP .75': ap75, AR: ar, 'AR .5': ar50 };
}

function crowdStats(ap: number, ap50: number, ap75: number, apE: number, apM: number, apH: number): ReportedResults['stats'] {
  return { AP: ap, 'AP .5': ap50, 'AP .75': ap75, 'AP (E)': apE, 'AP (M)': apM, 'AP (H)': apH };
}

const NO_OFFICIAL_CROWDPOSE =
  `The official README publishes no CrowdPose checkpoint (issues #44 and #93 of ${REPO} ask for one).`;

export const ZOO: readonly ZooEntry[] = [
  {
    name: 'coco_w32_512',
    preset: 'coco_w32_512',
    inputSize: 512,
    fileName: 'pose_higher_hrnet_w32_512.pth',
    naming: 'official',
    manualDownload: officialPages('1V9Iz0ZYy9m8VeaspfKECDW0NKlGsYmO1'),
    results: [
      { source: 'official', split: 'COCO val2017', multiScale: false, stats: cocoStats(0.671, 0.862, 0.73, 0.615, 0.761) },
      { source: 'official', split: 'COCO val2017', multiScale: true, stats: cocoStats(0.699, 0.871, 0.76, 0.653, 0.77) },
      { source: 'official', split: 'COCO test-dev2017', multiScale: false, stats: cocoStats(0.664, 0.875, 0.728, 0.612, 0.742) },
    ],
  },
  {
    name: 'coco_w32_640',
    preset: 'coco_w32_640',
    inputSize: 640,
    // The Drive folder holds the 640 models as `.pth.tar` (a plain torch.save file all the same).
    fileName: 'pose_higher_hrnet_w32_640.pth.tar',
    naming: 'official',
    manualDownload: officialPages('1uEcQlm1rjV-JRgVbaP79Y5sMLqUX2ciD'),
    results: [
      { source: 'official', split: 'COCO val2017', multiScale: false, stats: cocoStats(0.685, 0.871, 0.747, 0.643, 0.753) },
      { source: 'official', split: 'COCO val2017', multiScale: true, stats: cocoStats(0.706, 0.881, 0.769, 0.666, 0.765) },
    ],
  },
  {
    name: 'coco_w48_640',
    preset: 'coco_w48_640',
    inputSize: 640,
    fileName: 'pose_higher_hrnet_w48_640.pth.tar',
    naming: 'official',
    manualDownload: officialPages('10j9Wx_I2H6qaw-prAdlJ44fLryDtA-ah'),
    results: [
      { source: 'official', split: 'COCO val2017', multiScale: false, stats: cocoStats(0.699, 0.872, 0.761, 0.654, 0.764) },
      { source: 'official', split: 'COCO val2017', multiScale: true, stats: cocoStats(0.721, 0.884, 0.782, 0.678, 0.783) },
      { source: 'official', split: 'COCO test-dev2017', multiScale: false, stats: cocoStats(0.684, 0.882, 0.751, 0.644, 0.742) },
      { source: 'official', split: 'COCO test-dev2017', multiScale: true, stats: cocoStats(0.705, 0.893, 0.772, 0.666, 0.758) },
    ],
  },
  {
    name: 'crowdpose_w32_512',
    preset: 'crowdpose_w32_512',
    inputSize: 512,
    fileName: 'pose_higher_hrnet_w32_512_crowdpose.pth.tar',
    naming: 'official',
    manualDownload: officialPages(),
    results: [],
    note: `${NO_OFFICIAL_CROWDPOSE} The file name is assumed by analogy with the W48 one; if you have this checkpoint under another name, save it under this one or pass --weights PATH.`,
  },
  {
    name: 'crowdpose_w48_640',
    preset: 'crowdpose_w48_640',
    inputSize: 640,
    // The name third-party code loads this checkpoint under.
    fileName: 'pose_higher_hrnet_w48_640_crowdpose.pth.tar',
    naming: 'official',
    manualDownload: officialPages(),
    // The README's CrowdPose table does not name the backbone; the paper reports it for HRNet-W48.
    results: [
      { source: 'official', split: 'CrowdPose test', multiScale: false, stats: crowdStats(0.659, 0.864, 0.706, 0.733, 0.665, 0.579) },
      { source: 'official', split: 'CrowdPose test', multiScale: true, stats: crowdStats(0.676, 0.874, 0.726, 0.758, 0.681, 0.589) },
    ],
    note: NO_OFFICIAL_CROWDPOSE,
  },
  {
    name: 'coco_w32_512_mmpose',
    preset: 'coco_w32_512',
    inputSize: 512,
    fileName: 'higher_hrnet32_coco_512x512-8ae85183_20200713.pth',
    url: `${MMPOSE}/higher_hrnet32_coco_512x512-8ae85183_20200713.pth`,
    sha256Prefix: '8ae85183',
    naming: 'mmpose',
    results: [
      { source: 'mmpose', split: 'COCO val2017', multiScale: false, stats: mmposeCocoStats(0.677, 0.87, 0.738, 0.723, 0.89) },
      { source: 'mmpose', split: 'COCO val2017', multiScale: true, stats: mmposeCocoStats(0.706, 0.881, 0.771, 0.747, 0.901) },
    ],
  },
  {
    name: 'coco_w32_640_mmpose',
    preset: 'coco_w32_640',
    inputSize: 640,
    fileName: 'higher_hrnet32_coco_640x640-a22fe938_20200712.pth',
    url: `${MMPOSE}/higher_hrnet32_coco_640x640-a22fe938_20200712.pth`,
    sha256Prefix: 'a22fe938',
    naming: 'mmpose',
    results: [
      { source: 'mmpose', split: 'COCO val2017', multiScale: false, stats: mmposeCocoStats(0.686, 0.871, 0.747, 0.733, 0.898) },
      { source: 'mmpose', split: 'COCO val2017', multiScale: true, stats: mmposeCocoStats(0.706, 0.88, 0.77, 0.749, 0.902) },
    ],
  },
  {
    name: 'coco_w48_512_mmpose',
    // Same tensors as the official W48 model, but trained and evaluated at input 512.
    preset: 'coco_w48_640',
    inputSize: 512,
    fileName: 'higher_hrnet48_coco_512x512-60fedcbc_20200712.pth',
    url: `${MMPOSE}/higher_hrnet48_coco_512x512-60fedcbc_20200712.pth`,
    sha256Prefix: '60fedcbc',
    naming: 'mmpose',
    results: [
      { source: 'mmpose', split: 'COCO val2017', multiScale: false, stats: mmposeCocoStats(0.686, 0.873, 0.741, 0.731, 0.892) },
      { source: 'mmpose', split: 'COCO val2017', multiScale: true, stats: mmposeCocoStats(0.716, 0.884, 0.775, 0.755, 0.901) },
    ],
  },
  {
    name: 'crowdpose_w32_512_mmpose',
    preset: 'crowdpose_w32_512',
    inputSize: 512,
    fileName: 'higher_hrnet32_crowdpose_512x512-1aa4a132_20201017.pth',
    url: `${MMPOSE}/higher_hrnet32_crowdpose_512x512-1aa4a132_20201017.pth`,
    sha256Prefix: '1aa4a132',
    naming: 'mmpose',
    results: [
      { source: 'mmpose', split: 'CrowdPose test', multiScale: false, stats: crowdStats(0.655, 0.859, 0.705, 0.728, 0.66, 0.577) },
      { source: 'mmpose', split: 'CrowdPose test', multiScale: true, stats: crowdStats(0.661, 0.864, 0.71, 0.742, 0.67, 0.566) },
    ],
  },
];

export const ZOO_NAMES: readonly string[] = ZOO.map((entry) => entry.name);

/** The catalogue entry called `name`; a ZooError listing the valid names otherwise. */
export function findEntry(name: string): ZooEntry {
  const entry = ZOO.find((candidate) => candidate.name === name);
  if (!entry) throw new ZooError(`Unknown model ${JSON.stringify(name)}. Available: ${ZOO_NAMES.join(', ')}`);
  return entry;
}

/** How to run an entry trained at another input size than its preset's (the mmpose W48 at 512), else undefined. */
export function inputSizeHint(entry: ZooEntry): string | undefined {
  if (entry.inputSize === presetConfig(entry.preset).test.inputSize) return undefined;
  return `${entry.name} was trained at input ${entry.inputSize}: run it with --preset ${entry.preset} --input-size ${entry.inputSize} (inputSize: ${entry.inputSize} in the API)`;
}
