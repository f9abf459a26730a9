<#
.SYNOPSIS
    Builds Trove's Windows installer, dist\trove-<version>-windows-x64-setup.exe.

.DESCRIPTION
    pwsh installer\windows\build.ps1

    Freezes the app with PyInstaller from its own virtual environment (build\venv: Trove,
    torch, PyInstaller and nothing else), runs the frozen app's self-test, then packs it with
    Inno Setup 6 (installer\windows\trove.iss).

    Needs 64-bit Python 3.11 or newer on PATH as "python" (or named by $env:PYTHON) and
    Inno Setup 6 (choco install innosetup -y, or $env:ISCC naming ISCC.exe).
    $env:TROVE_TORCH replaces the torch requirement, as it does for installer/build-deb.sh.
#>
[CmdletBinding()]
param()

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$root = Resolve-Path (Join-Path $PSScriptRoot '..\..')
Set-Location $root
$started = Get-Date

function Say([string]$Message) { Write-Host "`n== $Message" }

# $ErrorActionPreference does not apply to a program's exit status; every native command
# below is followed by this.
function Assert-ExitCode([string]$What) {
    if ($LASTEXITCODE -ne 0) { throw "$What failed (exit code $LASTEXITCODE)" }
}

function Find-Iscc {
    if ($env:ISCC) { return $env:ISCC }
    $candidates = @()
    if (${env:ProgramFiles(x86)}) { $candidates += Join-Path ${env:ProgramFiles(x86)} 'Inno Setup 6\ISCC.exe' }
    if ($env:ProgramFiles) { $candidates += Join-Path $env:ProgramFiles 'Inno Setup 6\ISCC.exe' }
    foreach ($candidate in $candidates) {
        if (Test-Path -LiteralPath $candidate) { return $candidate }
    }
    $onPath = Get-Command 'ISCC.exe' -ErrorAction SilentlyContinue
    if ($onPath) { return $onPath.Source }
    throw 'Inno Setup 6 (ISCC.exe) was not found: install it (choco install innosetup -y) or set $env:ISCC.'
}

# Look for the compiler before the long freeze, so that a missing one fails in seconds.
$iscc = Find-Iscc

Say 'Build environment (build\venv)'
$python = if ($env:PYTHON) { $env:PYTHON } else { 'python' }
$venvPython = Join-Path $root 'build\venv\Scripts\python.exe'
if (-not (Test-Path -LiteralPath $venvPython)) {
    & $python -m venv build\venv
    Assert-ExitCode 'Creating build\venv'
}
$pip = @('-m', 'pip', '--quiet', '--disable-pip-version-check')
# PyPI's Windows torch wheel is the CPU build already; installed first so that nothing
# else picks a different torch.
$torch = if ($env:TROVE_TORCH) { $env:TROVE_TORCH } else { 'torch==2.13.0' }
& $venvPython @pip install $torch
Assert-ExitCode "pip install $torch"
& $venvPython @pip install 'pyinstaller==6.22.3' 'pyinstaller-hooks-contrib==2026.9'
Assert-ExitCode 'pip install pyinstaller'
# Always this checkout's code, never a copy left from an earlier build.
& $venvPython @pip install --force-reinstall --no-deps .
Assert-ExitCode 'pip install --force-reinstall --no-deps .'
& $venvPython @pip install .
Assert-ExitCode 'pip install .'

$version = & $venvPython -c "import tomllib; print(tomllib.load(open('pyproject.toml', 'rb'))['project']['version'])"
Assert-ExitCode 'Reading the version from pyproject.toml'
$version = "$version".Trim()
Write-Host "Trove $version"

Say 'Freezing (PyInstaller)'
$freezeStarted = Get-Date
if (Test-Path -LiteralPath 'dist\pyinstaller') { Remove-Item -LiteralPath 'dist\pyinstaller' -Recurse -Force }
& (Join-Path $root 'build\venv\Scripts\pyinstaller.exe') --noconfirm --log-level WARN `
    --distpath dist/pyinstaller --workpath build/pyinstaller installer/trove.spec
Assert-ExitCode 'PyInstaller'
$app = Join-Path $root 'dist\pyinstaller\trove'
foreach ($exe in 'trove.exe', 'trove-desktop.exe') {
    if (-not (Test-Path -LiteralPath (Join-Path $app $exe))) { throw "PyInstaller did not produce $exe in $app" }
}
$bytes = (Get-ChildItem -LiteralPath $app -Recurse -File | Measure-Object -Property Length -Sum).Sum
Write-Host ("froze in {0:N0} s; {1:N0} MiB in {2}" -f ((Get-Date) - $freezeStarted).TotalSeconds, ($bytes / 1MB), $app)

$gpu = Get-ChildItem -Path $app -Recurse -File -Include 'cuda*.dll', 'cudnn*.dll', 'cublas*.dll', 'nccl*.dll', 'nvrtc*.dll' |
    Select-Object -First 5
if ($gpu) { throw "GPU libraries got into the bundle: $($gpu.FullName -join ', ')" }

Say 'Self-test of the frozen app'
# A build machine has no desktop session to show the window on.
$previousPlatform = $env:QT_QPA_PLATFORM
$env:QT_QPA_PLATFORM = 'offscreen'
try {
    & (Join-Path $app 'trove.exe') doctor --self-test
    Assert-ExitCode 'trove.exe doctor --self-test'
}
finally {
    $env:QT_QPA_PLATFORM = $previousPlatform
}

Say "Installer (Inno Setup: $iscc)"
$packStarted = Get-Date
& $iscc /Qp "/DAppVersion=$version" installer\windows\trove.iss
Assert-ExitCode 'ISCC'
$setup = Join-Path $root "dist\trove-$version-windows-x64-setup.exe"
if (-not (Test-Path -LiteralPath $setup)) { throw "ISCC did not produce $setup" }
Write-Host ("packed in {0:N0} s" -f ((Get-Date) - $packStarted).TotalSeconds)

Say 'Done'
Write-Host ("{0} ({1:N0} MiB) in {2:N0} s" -f $setup, ((Get-Item -LiteralPath $setup).Length / 1MB), ((Get-Date) - $started).TotalSeconds)
