// Package media validates and processes uploaded images.
//
// An upload is trusted only after it has been decoded: the format is
// recognised from its first bytes and confirmed by its decoder, never taken
// from a file name or a declared type. The declared size is checked before
// any pixel is decoded (decompression bombs), the EXIF orientation is
// applied, and the pixels are re-encoded, which drops EXIF (GPS position,
// camera serial numbers), XMP, ICC profiles and comments.
//
// Imports: no other package of this project.
package media
