// Written by tests/bench/calibrate-int8.ts; do not edit.
import type { Int8Calibration } from './face-models.js';

export const INT8_CALIBRATION: Int8Calibration = {
 "version": 1,
 "clips": [
  "samples/WolfgangLanger_Pexels.mp4",
  "samples/single_face.mp4"
 ],
 "every": 3,
 "models": {
  "emotion": {
   "fp32": "54c5db95eb2ae59e5d3fae2b1a8c85bba2a9c4579453ab4ec447a369f1c9a8da",
   "crops": 181,
   "ranges": {
    "transpose": {
     "min": -1,
     "max": 0.8893158435821533
    },
    "relu": {
     "min": 0,
     "max": 20.964521408081055
    },
    "relu_3": {
     "min": 0,
     "max": 10.849003791809082
    },
    "conv_5": {
     "min": -12.070810317993164,
     "max": 8.902961730957031
    },
    "conv_7": {
     "min": -8.407000541687012,
     "max": 4.068077087402344
    },
    "relu_11": {
     "min": 0,
     "max": 10.285547256469727
    },
    "conv_13": {
     "min": -10.6321382522583,
     "max": 9.841647148132324
    },
    "conv_15": {
     "min": -17.349905014038086,
     "max": 20.124319076538086
    },
    "add": {
     "min": -15.212125778198242,
     "max": 19.92839813232422
    },
    "conv_19": {
     "min": -2.7996773719787598,
     "max": 1.9045543670654297
    },
    "relu_17": {
     "min": 0,
     "max": 19.92839813232422
    },
    "conv_21": {
     "min": -13.752046585083008,
     "max": 12.112664222717285
    },
    "relu_25": {
     "min": 0,
     "max": 5.810302734375
    },
    "conv_27": {
     "min": -6.330855369567871,
     "max": 4.977834701538086
    },
    "conv_29": {
     "min": -11.688164710998535,
     "max": 7.525947570800781
    },
    "add_33": {
     "min": -4.060937881469727,
     "max": 7.248475551605225
    },
    "conv_35": {
     "min": -73.86577606201172,
     "max": 68.1285171508789
    }
   }
  },
  "faceres": {
   "fp32": "d58ff6ae52595a81a966c6c8535e1a94b9d3e662073c5d87100b5c4e00195969",
   "crops": 181,
   "ranges": {
    "transpose": {
     "min": 0,
     "max": 255
    },
    "clip": {
     "min": 0,
     "max": 6
    },
    "clip_5": {
     "min": 0,
     "max": 6
    },
    "clip_11": {
     "min": 0,
     "max": 6
    },
    "clip_19": {
     "min": 0,
     "max": 6
    },
    "clip_25": {
     "min": 0,
     "max": 6
    },
    "clip_33": {
     "min": 0,
     "max": 6
    },
    "clip_39": {
     "min": 0,
     "max": 6
    },
    "clip_47": {
     "min": 0,
     "max": 6
    },
    "clip_53": {
     "min": 0,
     "max": 6
    },
    "clip_61": {
     "min": 0,
     "max": 6
    },
    "clip_67": {
     "min": 0,
     "max": 6
    },
    "clip_75": {
     "min": 0,
     "max": 6
    },
    "clip_81": {
     "min": 0,
     "max": 6
    },
    "clip_89": {
     "min": 0,
     "max": 6
    },
    "clip_95": {
     "min": 0,
     "max": 6
    },
    "clip_103": {
     "min": 0,
     "max": 6
    },
    "clip_109": {
     "min": 0,
     "max": 6
    },
    "clip_117": {
     "min": 0,
     "max": 6
    },
    "clip_123": {
     "min": 0,
     "max": 6
    },
    "clip_131": {
     "min": 0,
     "max": 6
    },
    "clip_137": {
     "min": 0,
     "max": 6
    },
    "clip_145": {
     "min": 0,
     "max": 6
    },
    "clip_151": {
     "min": 0,
     "max": 6
    },
    "clip_159": {
     "min": 0,
     "max": 6
    },
    "clip_165": {
     "min": 0,
     "max": 6
    },
    "clip_173": {
     "min": 0,
     "max": 6
    },
    "clip_179": {
     "min": 0,
     "max": 6
    }
   }
  }
 }
};
