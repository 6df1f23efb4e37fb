"""Files inside disk images, read in place: no mounting, no root, no copies.

The Sleuth Kit (pytsk3) reads partition tables (DOS/MBR, GPT, ...) and file
systems (FAT, ext2/3/4, NTFS, HFS+, ISO 9660, ...); libewf (pyewf) reads
Expert Witness (E01) images. Both read through our own read-only file
handles (:func:`~facexray_forensics.evidence.files.open_read_only`), so the
image is never opened for writing and its access time is left alone.

An E01 set (``.E01``, ``.E02``, ...) and a split raw image (``disk.001``,
``disk.002``, ...; ``disk.raw.001``) are each read as one disk from their
first segment; the other segments stay items of their own, as "container"
segments, and are never opened as images. An image that is a file inside
another image is read through the outer image's file system, with no copy
made anywhere, down to :data:`~.image.MAX_IMAGE_DEPTH`.

Every regular file becomes an :class:`~facexray_forensics.records.Item`,
deleted ones included (flagged in ``origin["deleted"]``), named
``IMAGE:PARTITION_OFFSET:INODE:/inner/path`` so the name is unique and says
where the bytes are. ``Item.open`` returns a read-only stream over the file's
content, read straight from the image, so hashing and decoding need no
temporary copy. The opener is a small picklable value: a worker process
opens the image itself on first use.

Damaged images never stop a scan. What pytsk3 and pyewf raise on them
(:data:`~.readers.LIBRARY_ERRORS`) becomes :class:`~.readers.UnreadableImageError` for the
image, or an ``OSError`` for one file, and so a recorded outcome with its
reason. An MBR entry that points past the end of the disk is dropped and
noted rather than hiding the good partitions; a FAT entry whose recorded
size exceeds its volume, which The Sleuth Kit skips, is still listed.

The modules, from the bytes up: :mod:`.readers` (raw, split raw, E01 and nested images as one
run of bytes), :mod:`.volumes` (partition tables and file systems), :mod:`.listing` (the files
of a file system), :mod:`.image` (:class:`~.image.DiskImage`, an open image) and :mod:`.items`
(:class:`~.items.DiskImageSource`, :func:`~.items.expand_disk_images`, :func:`~.items.inner_item`:
the files as scan items).
"""
