export { probeImage, ImageError, IMAGE_EXTENSIONS, type ImageFormat, type ImageInfo } from './probe';
